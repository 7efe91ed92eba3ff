"""Where the query keeps its checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from gametime.settings import load_settings
from gametime.spark.job import checkpoint_location


def test_a_relative_checkpoint_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(spark_checkpoint_dir="var/checkpoint")
    assert checkpoint_location(settings) == str(tmp_path / "var" / "checkpoint")


def test_a_checkpoint_uri_is_kept_as_given() -> None:
    settings = load_settings(spark_checkpoint_dir="hdfs://nn:8020/gametime/cp")
    assert checkpoint_location(settings) == "hdfs://nn:8020/gametime/cp"
