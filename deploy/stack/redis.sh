#!/usr/bin/env bash
# redis.sh start|stop|status
# Debian's redis-server on 127.0.0.1, data and log in $STACK_DIR/redis/.
# Durable (AOF) by default; GAMETIME_REDIS_EPHEMERAL=1 keeps nothing on disk.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT="${GAMETIME_REDIS_PORT:-16379}"
START_TIMEOUT="${GAMETIME_REDIS_START_TIMEOUT:-30}"
STOP_TIMEOUT="${GAMETIME_REDIS_STOP_TIMEOUT:-30}"
HOME_DIR="$STACK_DIR/redis"
PID_FILE="$HOME_DIR/redis.pid"
LOG_FILE="$HOME_DIR/redis.log"

install_redis() {
  command -v redis-server >/dev/null && return 0
  log "redis-server not found; installing Debian's redis-server"
  local sudo=()
  ((EUID == 0)) || sudo=(sudo)
  # Refresh the package lists only when apt does not know the package yet.
  if [[ $(apt-cache policy redis-server 2>/dev/null) != *"Candidate: "[0-9]* ]]; then
    "${sudo[@]}" apt-get update -q
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends redis-server ||
    die "apt-get could not install redis-server"
}

cli() { redis-cli -h 127.0.0.1 -p "$PORT" "$@"; }
answers_pong() { [[ $(cli ping 2>/dev/null) == PONG ]]; }
port_open() { (exec 4<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

# pid_alive alone could match an unrelated process that reused a stale pid.
redis_running() {
  pid_alive "$PID_FILE" && grep -qa 'redis-server' "/proc/$(cat "$PID_FILE")/cmdline" 2>/dev/null
}

start() {
  install_redis
  start_lock "$HOME_DIR"
  if redis_running; then
    log "Redis already running (pid $(cat "$PID_FILE"))"
  else
    port_open && die "port $PORT is taken by a process this script did not start"
    local aof=yes
    [[ ${GAMETIME_REDIS_EPHEMERAL:-0} == 1 ]] && aof=no
    log "starting Redis on 127.0.0.1:$PORT (appendonly $aof); log in $LOG_FILE"
    # No RDB save points: with AOF on they only add fork pauses.
    # hash-max-listpack-value 256: a user-day's packed minutes are at most 242
    # bytes, so every user-day hash stays a compact listpack; at the default 64,
    # days with play far apart become hash tables (docs/benchmarks.md).
    redis-server --daemonize yes --bind 127.0.0.1 --port "$PORT" \
      --dir "$HOME_DIR" --logfile "$LOG_FILE" --pidfile "$PID_FILE" \
      --save "" --appendonly "$aof" --hash-max-listpack-value 256 9>&- ||
      die "redis-server did not start; see $LOG_FILE"
  fi
  wait_until "$START_TIMEOUT" "$LOG_FILE" "Redis on 127.0.0.1:$PORT" answers_pong
}

# Plain SHUTDOWN: Redis flushes and fsyncs the AOF before it exits. NOSAVE would
# only skip an RDB snapshot (we configure none), so it buys nothing and would
# silently drop data if save points were ever added.
stop() {
  if ! redis_running; then
    rm -f "$PID_FILE"
    log "Redis not running"
    return 0
  fi
  local pid started=$SECONDS
  pid=$(cat "$PID_FILE")
  log "stopping Redis (pid $pid)"
  cli shutdown >&2 || true
  while kill -0 "$pid" 2>/dev/null; do
    # No SIGKILL fallback: it could lose acknowledged writes.
    ((SECONDS - started >= STOP_TIMEOUT)) && die "Redis still running after ${STOP_TIMEOUT}s; see $LOG_FILE"
    sleep 0.2
  done
  rm -f "$PID_FILE"
  log "Redis stopped"
}

status() {
  if ! redis_running; then
    log "Redis not running"
    return 1
  fi
  if ! answers_pong; then
    log "Redis running (pid $(cat "$PID_FILE")) but not answering on 127.0.0.1:$PORT; see $LOG_FILE"
    return 1
  fi
  log "Redis running (pid $(cat "$PID_FILE")) and answering on 127.0.0.1:$PORT"
}

case "${1:-}" in
  start | stop | status) "$1" ;;
  *) die "usage: $0 start|stop|status" ;;
esac
