"""The SparkSession of the Spark processor.

Run by `gametime spark`, the session gets its master from GAMETIME_SPARK_MASTER
and the Kafka connector from the jars that `deploy/stack/spark.sh fetch` resolved
ahead of time (GAMETIME_SPARK_JARS_DIR), so no run downloads anything. A local
master stays small and on 127.0.0.1. Run under spark-submit, the submitted master,
packages and configuration apply and these settings are ignored.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from pyspark import __version__ as SPARK_VERSION  # noqa: N812
from pyspark.sql import SparkSession

from gametime.errors import ConfigurationError
from gametime.settings import Settings

logger = logging.getLogger(__name__)

APP_NAME = "gametime"
CONNECTOR = "spark-sql-kafka-0-10_2.13"
# One JVM on a small machine: no UI, two shuffle partitions, a 1 GiB driver.
LOCAL_CONFIG = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.memory": "1g",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "2",
}


def open_session(settings: Settings) -> SparkSession:
    """The session: under spark-submit the submitted one, else one from settings."""
    builder = SparkSession.builder
    if not submitted():
        builder = builder.master(settings.spark_master).appName(APP_NAME)
        for key, value in session_config(settings).items():
            builder = builder.config(key, value)
        if is_local(settings):
            _local_environment()
    session = builder.getOrCreate()
    logger.info(
        "spark version=%s master=%s", session.version, session.sparkContext.master
    )
    return session


def submitted() -> bool:
    """True under spark-submit, which starts the JVM before Python and names it."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def is_local(settings: Settings) -> bool:
    return settings.spark_master.startswith("local")


def session_config(settings: Settings) -> dict[str, str]:
    config: dict[str, str] = {}
    if settings.spark_jars_dir is not None:
        config["spark.jars"] = ",".join(connector_jars(settings.spark_jars_dir))
    if is_local(settings):
        config.update(LOCAL_CONFIG)
    return config


def _local_environment() -> None:
    """What a local session reads from the environment rather than its config."""
    # Spark picks the host's first non-loopback address for whatever the config
    # does not bind; a local run must stay on 127.0.0.1.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Python workers run PYSPARK_PYTHON (else python3 from PATH); they need this
    # interpreter, the one that has gametime.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


def connector_jars(folder: Path) -> list[str]:
    """Every jar in `folder`, as absolute paths; it must hold this Spark's connector."""
    expected = f"{CONNECTOR}-{SPARK_VERSION}.jar"
    if not (folder / expected).is_file():
        raise ConfigurationError(
            "GAMETIME_SPARK_JARS_DIR",
            f"{str(folder)!r} holds no {expected} (pyspark is {SPARK_VERSION}); "
            f"run GAMETIME_SPARK_VERSION={SPARK_VERSION} deploy/stack/spark.sh fetch "
            "and give the folder it prints",
        )
    return sorted(str(jar.resolve()) for jar in folder.glob("*.jar"))
