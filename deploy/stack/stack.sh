#!/usr/bin/env bash
# stack.sh up|down|status [service...]
# Runs <service>.sh start|stop|status for each service. Services come from the
# arguments, else from GAMETIME_STACK_SERVICES (default "redis kafka").
# List cassandra first when you use it: it is the slowest to start.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

script_for() { echo "$HERE/$1.sh"; }

check_services() {
  local svc
  for svc in "$@"; do
    [[ $svc != lib && $svc != stack && -x $(script_for "$svc") ]] ||
      die "unknown service '$svc' (no executable $(script_for "$svc"))"
  done
}

up() {
  local svc started
  for svc in "$@"; do
    started=$SECONDS
    "$(script_for "$svc")" start
    log "$svc up in $((SECONDS - started))s"
  done
}

# Reverse order, and keep going past a failure so nothing is left running.
down() {
  local i rc=0
  for ((i = $#; i >= 1; i--)); do
    "$(script_for "${!i}")" stop || rc=1
  done
  return "$rc"
}

status() {
  local svc rc=0
  for svc in "$@"; do
    "$(script_for "$svc")" status || rc=1
  done
  return "$rc"
}

command="${1:-}"
shift || true
if (($# == 0)); then
  read -r -a services <<<"${GAMETIME_STACK_SERVICES:-redis kafka}"
  set -- "${services[@]}"
fi

case "$command" in
  up | down | status) ;;
  *) die "usage: $0 up|down|status [service...]" ;;
esac
check_services "$@"
"$command" "$@"
