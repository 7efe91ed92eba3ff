#!/usr/bin/env bash
# spark.sh fetch|jars: the Kafka connector jars for `gametime spark`, resolved ahead
# of time so that no run downloads anything. pyspark (from PyPI) brings Spark itself;
# the connector must be the same Spark version. See docs/spark.md.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SPARK_VERSION="${GAMETIME_SPARK_VERSION:-4.2.0}"
CONNECTOR="org.apache.spark:spark-sql-kafka-0-10_2.13:$SPARK_VERSION"
HOME_DIR="$STACK_DIR/spark"
RESOLVED_DIR="$HOME_DIR/connector-$SPARK_VERSION"
JARS_DIR="$HOME_DIR/jars-$SPARK_VERSION"
# The connector's runtime dependencies that pyspark does not already ship. The rest
# (scala-library, hadoop-client, slf4j, lz4, snappy ...) come in older versions than
# pyspark's own and would shadow them on the classpath.
KEEP=(
  spark-sql-kafka-0-10_2.13
  spark-token-provider-kafka-0-10_2.13
  kafka-clients
  commons-pool2
)

# Copies the kept jars into JARS_DIR once; prints JARS_DIR (GAMETIME_SPARK_JARS_DIR).
fetch() {
  if [[ ! -f "$JARS_DIR/.complete" ]]; then
    maven_fetch "$CONNECTOR" "$RESOLVED_DIR"
    rm -rf "$JARS_DIR"
    mkdir -p "$JARS_DIR"
    local artifact jar found
    for artifact in "${KEEP[@]}"; do
      found=0
      for jar in "$RESOLVED_DIR"/lib/"$artifact"-[0-9]*.jar; do
        [[ -f $jar ]] || continue
        cp "$jar" "$JARS_DIR/"
        found=1
      done
      ((found)) || die "$CONNECTOR brought no $artifact jar; see $RESOLVED_DIR/lib"
    done
    touch "$JARS_DIR/.complete"
    log "Kafka connector for Spark $SPARK_VERSION in $JARS_DIR"
  fi
  echo "$JARS_DIR"
}

# The same jars as one comma-separated list of absolute paths (spark.jars).
jars() {
  fetch >/dev/null
  local list=("$JARS_DIR"/*.jar)
  local IFS=,
  echo "${list[*]}"
}

case "${1:-}" in
  fetch | jars) "$1" ;;
  *) die "usage: $0 fetch|jars" ;;
esac
