#!/usr/bin/env bash
# Local single-node Cassandra 5.0 for the integration tests: start | stop | status.
# Jars come from Maven Central; config, data, pid and log live under
# $STACK_DIR/cassandra/. See docs/stack-cassandra.md.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CASSANDRA_VERSION="${GAMETIME_CASSANDRA_VERSION:-5.0.9}"
CQL_PORT="${GAMETIME_CASSANDRA_PORT:-19042}"
STORAGE_PORT="${GAMETIME_CASSANDRA_STORAGE_PORT:-17000}"
HEAP="${GAMETIME_CASSANDRA_HEAP:-1G}"
HEAP_START=256M
START_LIMIT="${GAMETIME_CASSANDRA_START_LIMIT:-150}"
STOP_LIMIT=60

TEMPLATES="$STACK_ROOT/deploy/stack/cassandra"
HOME_DIR="$STACK_DIR/cassandra"
LIB_DIR="$HOME_DIR/$CASSANDRA_VERSION/lib"
CONF_FILE="$HOME_DIR/conf/cassandra.yaml"
DATA_DIR="$HOME_DIR/data"
LOG_FILE="$HOME_DIR/cassandra.log"
PID_FILE="$HOME_DIR/cassandra.pid"

# The pid file alone could name a recycled pid; only a CassandraDaemon counts.
cassandra_running() {
  pid_alive "$PID_FILE" && grep -qa CassandraDaemon "/proc/$(cat "$PID_FILE")/cmdline"
}

# A CQL OPTIONS request (protocol v4, stream 0) must come back as SUPPORTED (opcode
# 0x06): proof that the native transport serves requests, not just that a port is open.
cql_answers() {
  local reply
  reply=$({
    exec 3<>"/dev/tcp/127.0.0.1/$CQL_PORT" || exit 1
    printf '\x04\x00\x00\x00\x05\x00\x00\x00\x00' >&3
    timeout 3 head -c 5 <&3 | od -An -tx1
  } 2>/dev/null) || return 1
  read -ra reply <<<"$reply"
  [[ ${reply[0]:-} == 84 && ${reply[4]:-} == 06 ]]
}

# With GAMETIME_PYTHON (a python that has cassandra-driver) also run the query the
# tests depend on; without it the OPTIONS handshake above is the whole check.
driver_answers() {
  [[ -n ${GAMETIME_PYTHON:-} ]] || return 0
  "$GAMETIME_PYTHON" - "$CQL_PORT" >/dev/null 2>&1 <<'PY'
import sys
from cassandra.cluster import Cluster
cluster = Cluster(["127.0.0.1"], port=int(sys.argv[1]), connect_timeout=5)
try:
    cluster.connect().execute("SELECT release_version FROM system.local").one()
finally:
    cluster.shutdown()
PY
}

cql_ready() { cql_answers && driver_answers; }

write_config() {
  mkdir -p "$(dirname "$CONF_FILE")" "$DATA_DIR"
  sed -e "s|@CQL_PORT@|$CQL_PORT|g" -e "s|@STORAGE_PORT@|$STORAGE_PORT|g" \
    -e "s|@DATA_DIR@|$DATA_DIR|g" "$TEMPLATES/cassandra.yaml" >"$CONF_FILE"
}

# setsid: the server outlives the shell that started it; stop uses the pid file.
# Cassandra mlockall()s its memory when allowed (e.g. as root), faulting in the whole
# initial heap: a small -Xms keeps idle memory and start-up time down.
launch() {
  local jamm=("$LIB_DIR"/jamm-*.jar)
  [[ -f ${jamm[0]} ]] || die "no jamm jar in $LIB_DIR; remove $HOME_DIR/$CASSANDRA_VERSION and retry"
  if [[ -f $LOG_FILE ]]; then mv "$LOG_FILE" "$LOG_FILE.1"; fi
  setsid "$JAVA17_HOME/bin/java" @"$TEMPLATES/jvm17.options" \
    -Xms"$HEAP_START" -Xmx"$HEAP" -javaagent:"${jamm[0]}" \
    -Dcassandra.config="file://$CONF_FILE" \
    -Dcassandra.storagedir="$DATA_DIR" \
    -Dcassandra.logdir="$HOME_DIR" \
    -Dlogback.configurationFile="$TEMPLATES/logback.xml" \
    -Dcassandra-foreground=yes \
    -cp "$LIB_DIR/*" org.apache.cassandra.service.CassandraDaemon \
    </dev/null >>"$LOG_FILE" 2>&1 9>&- &
  echo $! >"$PID_FILE"
}

# Own loop instead of wait_until: a JVM that dies at start-up should fail at once,
# not after the full time limit.
wait_for_cql() {
  local pid started=$SECONDS
  pid=$(cat "$PID_FILE")
  until cql_ready; do
    if ! kill -0 "$pid" 2>/dev/null; then
      grep -vE '^\s+(at |\.\.\. [0-9]+ more)' "$LOG_FILE" | tail -n 12 | cut -c1-300 >&2 || true
      die "Cassandra (pid $pid) exited during start-up; see $LOG_FILE"
    fi
    # A node that never became ready is stopped, so no caller (CI, a test
    # fixture) leaves a JVM behind; GAMETIME_CASSANDRA_KEEP_FAILED=1 keeps it
    # running to look at.
    if ((SECONDS - started >= START_LIMIT)); then
      grep -vE '^\s+(at |\.\.\. [0-9]+ more)' "$LOG_FILE" | tail -n 12 | cut -c1-300 >&2 || true
      if [[ ${GAMETIME_CASSANDRA_KEEP_FAILED:-} == 1 ]]; then
        die "Cassandra not ready after ${START_LIMIT}s; left running (pid $pid); see $LOG_FILE, then run $0 stop"
      fi
      stop
      die "Cassandra not ready after ${START_LIMIT}s; stopped it; see $LOG_FILE"
    fi
    sleep 1
  done
  log "Cassandra $CASSANDRA_VERSION ready on 127.0.0.1:$CQL_PORT after $((SECONDS - started))s (log: $LOG_FILE)"
}

start() {
  start_lock "$HOME_DIR"
  if cassandra_running; then
    log "Cassandra already running (pid $(cat "$PID_FILE")); checking it answers"
    wait_for_cql
    return
  fi
  rm -f "$PID_FILE"
  local port
  for port in "$CQL_PORT" "$STORAGE_PORT"; do
    if [[ ! $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
      die "invalid port: $port"
    fi
  done
  if cql_answers; then
    die "port $CQL_PORT already answers CQL, but not from our Cassandra; set GAMETIME_CASSANDRA_PORT"
  fi
  if [[ -n ${GAMETIME_PYTHON:-} ]] && ! "$GAMETIME_PYTHON" -c 'import cassandra.cluster' 2>/dev/null; then
    die "GAMETIME_PYTHON=$GAMETIME_PYTHON cannot import cassandra; pip install cassandra-driver"
  fi
  [[ -x $JAVA17_HOME/bin/java ]] || die "no Java 17 at $JAVA17_HOME; Cassandra 5.0 needs it"
  maven_fetch "org.apache.cassandra:cassandra-all:$CASSANDRA_VERSION" "$HOME_DIR/$CASSANDRA_VERSION"
  write_config
  launch
  log "Cassandra $CASSANDRA_VERSION starting (pid $(cat "$PID_FILE")); waiting up to ${START_LIMIT}s"
  wait_for_cql
}

# SIGTERM lets Cassandra drain (flush memtables, close the commit log) so the next
# start replays little; SIGKILL only after STOP_LIMIT seconds.
stop() {
  if ! cassandra_running; then
    rm -f "$PID_FILE"
    log "Cassandra is not running"
    return
  fi
  local pid waited=0
  pid=$(cat "$PID_FILE")
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null && ((waited < STOP_LIMIT)); do
    sleep 1
    waited=$((waited + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "Cassandra (pid $pid) still running after ${STOP_LIMIT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 1; done
  fi
  rm -f "$PID_FILE"
  log "Cassandra stopped after ${waited}s"
}

status() {
  if ! cassandra_running; then
    log "Cassandra is not running"
    return 1
  fi
  if ! cql_ready; then
    log "Cassandra running (pid $(cat "$PID_FILE")) but not answering CQL on 127.0.0.1:$CQL_PORT"
    return 1
  fi
  log "Cassandra ready on 127.0.0.1:$CQL_PORT (pid $(cat "$PID_FILE"))"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: $0 start|stop|status" ;;
esac
