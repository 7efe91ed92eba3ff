#!/usr/bin/env bash
# kafka.sh start|stop|status|tool CLASS [ARGS...]
# One Kafka broker in KRaft mode (combined broker and controller) on 127.0.0.1,
# run from Maven Central jars with Java 17. Everything lives in $STACK_DIR/kafka/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_VERSION="${GAMETIME_KAFKA_VERSION:-4.4.0}"
# Must match the log4j-core that kafka_2.13 pulls in (2.25.5 for Kafka 4.4.0).
LOG4J_VERSION="${GAMETIME_KAFKA_LOG4J_VERSION:-2.25.5}"
PORT="${GAMETIME_KAFKA_PORT:-19092}"
CONTROLLER_PORT="${GAMETIME_KAFKA_CONTROLLER_PORT:-19093}"
START_TIMEOUT="${GAMETIME_KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT="${GAMETIME_KAFKA_STOP_TIMEOUT:-30}"

HOME_DIR="$STACK_DIR/kafka"
BROKER_DIR="$HOME_DIR/broker-$KAFKA_VERSION"
TOOLS_DIR="$HOME_DIR/tools-$KAFKA_VERSION"
BRIDGE_DIR="$HOME_DIR/log4j-slf4j-$LOG4J_VERSION"
DATA_DIR="$HOME_DIR/data"
PID_FILE="$HOME_DIR/kafka.pid"
LOG_FILE="$HOME_DIR/kafka.log"
JAVA="$JAVA17_HOME/bin/java"
BOOTSTRAP="127.0.0.1:$PORT"
BRIDGE_JAR="$BRIDGE_DIR/lib/log4j-slf4j-impl-$LOG4J_VERSION.jar"
TOOL_JAVA=("$JAVA" -Xmx256m -cp "$TOOLS_DIR/lib/*:$BRIDGE_JAR"
  -Dlog4j2.configurationFile="$HOME_DIR/log4j2.properties" -Dgametime.log.level=WARN)

fetch_jars() {
  maven_fetch "org.apache.kafka:kafka_2.13:$KAFKA_VERSION" "$BROKER_DIR"
  # The admin and console tools are not part of kafka_2.13.
  maven_fetch "org.apache.kafka:kafka-tools:$KAFKA_VERSION" "$TOOLS_DIR"
  # kafka_2.13 brings slf4j-api and log4j-core but no bridge between them;
  # without it the broker would log nothing at all.
  maven_fetch "org.apache.logging.log4j:log4j-slf4j-impl:$LOG4J_VERSION" "$BRIDGE_DIR"
  [[ -f "$BROKER_DIR/lib/log4j-core-$LOG4J_VERSION.jar" ]] ||
    die "Kafka $KAFKA_VERSION does not use log4j $LOG4J_VERSION; set GAMETIME_KAFKA_LOG4J_VERSION to its log4j-core version"
}

write_config() {
  mkdir -p "$DATA_DIR"
  cat >"$HOME_DIR/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA_DIR
num.partitions=4
auto.create.topics.enable=true
offsets.topic.replication.factor=1
# The default 50 partitions make the first consumer group slow on 2 cores.
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
  # Properties format: the YAML one needs an extra jar. Level is a system
  # property so the tools can share this file and stay quiet.
  cat >"$HOME_DIR/log4j2.properties" <<'EOF'
appender.out.type = Console
appender.out.name = OUT
appender.out.target = SYSTEM_ERR
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = ${sys:gametime.log.level:-INFO}
rootLogger.appenderRef.out.ref = OUT
logger.kafka.name = kafka
logger.kafka.level = ${sys:gametime.log.level:-INFO}
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
# Each start dumps the full config five times (about 2000 lines).
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
EOF
  # Short timeouts so a readiness probe fails fast instead of retrying for a minute.
  cat >"$HOME_DIR/probe.properties" <<'EOF'
request.timeout.ms=3000
default.api.timeout.ms=5000
EOF
}

# A cluster id is 16 random bytes in URL-safe base64; one starting with '-'
# would be read as an option by StorageTool.
new_cluster_id() {
  local id
  until [[ ${id:-} && $id != -* ]]; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  done
  echo "$id"
}

format_storage() {
  [[ -f "$DATA_DIR/meta.properties" ]] && return 0
  [[ -f "$HOME_DIR/cluster.id" ]] || new_cluster_id >"$HOME_DIR/cluster.id"
  log "formatting Kafka storage in $DATA_DIR"
  "$JAVA" -cp "$BROKER_DIR/lib/*:$BRIDGE_JAR" \
    -Dlog4j2.configurationFile="$HOME_DIR/log4j2.properties" -Dgametime.log.level=WARN \
    kafka.tools.StorageTool format -t "$(cat "$HOME_DIR/cluster.id")" \
    -c "$HOME_DIR/server.properties" --ignore-formatted >>"$LOG_FILE" 2>&1 ||
    die "Kafka storage format failed; see $LOG_FILE"
}

# pid_alive alone could match an unrelated process that reused a stale pid.
broker_running() {
  pid_alive "$PID_FILE" && grep -qa 'kafka.Kafka' "/proc/$(cat "$PID_FILE")/cmdline" 2>/dev/null
}

port_open() { (exec 4<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

run_tool() { "${TOOL_JAVA[@]}" "$@"; }

# The open port is only a cheap gate; ready means the broker answers metadata requests.
broker_answers() {
  port_open && timeout 20 "${TOOL_JAVA[@]}" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$BOOTSTRAP" --command-config "$HOME_DIR/probe.properties" --list
}

# Probe for wait_until, which silences it: a dead JVM ends the wait at once,
# with the message sent to fd 3 (the caller's stderr).
broker_ready_or_dead() {
  if ! broker_running; then
    rm -f "$PID_FILE"
    die "Kafka exited during start-up; see $LOG_FILE" 2>&3
  fi
  broker_answers
}

# A start that times out leaves the JVM running for inspection; stop removes it.
start() {
  start_lock "$HOME_DIR"
  if broker_running; then
    log "Kafka already running (pid $(cat "$PID_FILE")); checking it answers"
  else
    port_open && die "port $PORT is taken by a process this script did not start"
    # Each start begins a new log; the previous one is kept as kafka.log.1.
    if [[ -f $LOG_FILE ]]; then mv "$LOG_FILE" "$LOG_FILE.1"; fi
    fetch_jars
    write_config
    format_storage
    log "starting Kafka $KAFKA_VERSION on $BOOTSTRAP; log in $LOG_FILE"
    echo "=== kafka.sh start $(date -u +%FT%TZ) ===" >>"$LOG_FILE"
    nohup "$JAVA" -Xms512m -Xmx512m -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$HOME_DIR/log4j2.properties" \
      -cp "$BROKER_DIR/lib/*:$BRIDGE_JAR" \
      kafka.Kafka "$HOME_DIR/server.properties" </dev/null >>"$LOG_FILE" 2>&1 9>&- &
    echo $! >"$PID_FILE"
  fi
  exec 3>&2
  wait_until "$START_TIMEOUT" "$LOG_FILE" "Kafka on $BOOTSTRAP" broker_ready_or_dead
}

stop() {
  if ! broker_running; then
    rm -f "$PID_FILE"
    log "Kafka not running"
    return 0
  fi
  local pid started=$SECONDS
  pid=$(cat "$PID_FILE")
  log "stopping Kafka (pid $pid)"
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS - started >= STOP_TIMEOUT)); then
      log "Kafka still running after ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$PID_FILE"
  log "Kafka stopped after $((SECONDS - started))s"
}

status() {
  if ! broker_running; then
    log "Kafka not running"
    return 1
  fi
  if ! broker_answers >/dev/null 2>&1; then
    log "Kafka running (pid $(cat "$PID_FILE")) but not answering on $BOOTSTRAP; see $LOG_FILE"
    return 1
  fi
  log "Kafka running (pid $(cat "$PID_FILE")) and answering on $BOOTSTRAP"
}

case "${1:-}" in
  start | stop | status) "$1" ;;
  tool) shift; run_tool "$@" ;;
  *) die "usage: $0 start|stop|status|tool CLASS [ARGS...]" ;;
esac
