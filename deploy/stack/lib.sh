#!/usr/bin/env bash
# Shared helpers for the local stack scripts (sourced, never run).
# Every service keeps its jars, data and log under $STACK_DIR/<service>/ and binds
# only to 127.0.0.1.

set -euo pipefail

STACK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK_DIR="${GAMETIME_STACK_DIR:-$STACK_ROOT/.stack}"
JAVA17_HOME="${JAVA17_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

# wait_until SECONDS LOGFILE DESCRIPTION CMD...: polls CMD once a second.
wait_until() {
  local limit=$1 logfile=$2 what=$3
  shift 3
  local waited=0
  until "$@" >/dev/null 2>&1; do
    if ((waited >= limit)); then
      die "$what not ready after ${limit}s; see $logfile"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  log "$what ready after ${waited}s"
}

# maven_fetch GROUP:ARTIFACT:VERSION DIR: copies the artifact and its runtime
# dependencies into DIR once; a second call finds them there and downloads nothing.
maven_fetch() {
  local coords=$1 dir=$2
  if [[ -f "$dir/.complete" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found; install Maven (apt-get install maven)"
  mkdir -p "$dir"
  local group artifact version
  IFS=: read -r group artifact version <<<"$coords"
  local pom="$dir/pom.xml"
  cat >"$pom" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>gametime.stack</groupId>
  <artifactId>fetch-$artifact</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>$group</groupId>
      <artifactId>$artifact</artifactId>
      <version>$version</version>
    </dependency>
  </dependencies>
</project>
POM
  log "fetching $coords with Maven into $dir"
  # Maven prints to stdout even with -q; callers print paths there, so send it away.
  mvn -B -q -Dstyle.color=never -f "$pom" dependency:copy-dependencies \
    -DincludeScope=runtime \
    -DoutputDirectory="$dir/lib" >&2 || die "Maven could not resolve $coords"
  touch "$dir/.complete"
}

# pid_alive PIDFILE: true when the process named in PIDFILE still runs.
pid_alive() {
  [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

# start_lock DIR: one start of a service at a time. A second start waits for the
# first, then finds the server running. The lock is fd 9, held until the script
# exits; servers are launched with 9>&- so they do not inherit it.
start_lock() {
  mkdir -p "$1"
  exec 9>"$1/start.lock"
  flock 9
}
