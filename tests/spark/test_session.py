"""The session's configuration: the connector jars and the small local set-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark import __version__ as spark_version

from gametime.errors import ConfigurationError
from gametime.settings import load_settings
from gametime.spark.session import LOCAL_CONFIG, connector_jars, session_config


def jars_folder(tmp_path: Path, *names: str) -> Path:
    for name in names:
        (tmp_path / name).write_bytes(b"")
    return tmp_path


def test_connector_jars_are_every_jar_of_the_folder_as_absolute_paths(
    tmp_path: Path,
) -> None:
    folder = jars_folder(
        tmp_path,
        f"spark-sql-kafka-0-10_2.13-{spark_version}.jar",
        "kafka-clients-3.9.2.jar",
        ".complete",
    )
    assert connector_jars(folder) == [
        str(folder / "kafka-clients-3.9.2.jar"),
        str(folder / f"spark-sql-kafka-0-10_2.13-{spark_version}.jar"),
    ]


def test_a_connector_of_another_spark_version_names_the_setting_and_the_fix(
    tmp_path: Path,
) -> None:
    folder = jars_folder(tmp_path, "spark-sql-kafka-0-10_2.13-3.5.1.jar")
    with pytest.raises(ConfigurationError) as caught:
        connector_jars(folder)
    assert caught.value.field == "GAMETIME_SPARK_JARS_DIR"
    assert repr(str(folder)) in caught.value.message
    assert f"GAMETIME_SPARK_VERSION={spark_version} deploy/stack/spark.sh fetch" in (
        caught.value.message
    )


def test_a_local_master_stays_small_and_on_the_loopback(tmp_path: Path) -> None:
    connector = f"spark-sql-kafka-0-10_2.13-{spark_version}.jar"
    folder = jars_folder(tmp_path, connector)
    config = session_config(load_settings(spark_jars_dir=folder))
    assert config["spark.driver.bindAddress"] == "127.0.0.1"
    assert config["spark.ui.enabled"] == "false"
    assert config["spark.jars"] == str(folder / connector)


def test_a_cluster_master_gets_no_local_settings() -> None:
    config = session_config(load_settings(spark_master="spark://10.0.0.5:7077"))
    assert not set(config) & set(LOCAL_CONFIG)
