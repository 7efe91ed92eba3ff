"""All configuration, read once from the environment (prefix GAMETIME_).

Every process (API, processor, CLI) builds one `Settings`; nothing else reads the
environment. A bad value stops start-up with an error naming the variable.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from gametime.domain.calendar import LocalCalendar
from gametime.domain.policy import Limits
from gametime.errors import ConfigurationError

if TYPE_CHECKING:
    from gametime.adapters.cassandra import CassandraOptions
    from gametime.domain.clock import Clock
    from gametime.services.raw_event_buffer import RawEventBuffer

ENV_PREFIX = "GAMETIME_"
_SINGLE_NODE_REPLICATION: dict[str, str | int] = {
    "class": "SimpleStrategy",
    "replication_factor": 1,
}


class ApiKeySetting(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    scopes: list[Literal["ingest", "read", "admin"]] = Field(min_length=1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True)

    # Counting and policy
    timezone: str = "Asia/Ho_Chi_Minh"
    retention_days: int = Field(default=30, ge=1)
    max_future_skew_seconds: int = Field(default=300, ge=0)
    minor_game_limit_minutes: int = Field(default=60, ge=0)
    minor_total_limit_minutes: int = Field(default=120, ge=0)
    game_limit_overrides: dict[str, int] = Field(default_factory=dict)
    unknown_user_is_minor: bool = True

    # Backend: "embedded" keeps everything in one SQLite file; "kafka" publishes to
    # Kafka, and processors in a consumer group keep minutes in Redis.
    backend: Literal["embedded", "kafka"] = "embedded"
    sqlite_path: Path = Path("var/gametime.sqlite3")
    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    kafka_topic: str = "eventstream"
    kafka_dead_letter_topic: str = "eventstream-dead-letters"
    kafka_group_id: str = "gametime-processor"
    kafka_partitions: int = Field(default=4, ge=1)
    kafka_security_protocol: Literal[
        "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"
    ] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = (
        None
    )
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_ca_location: Path | None = None
    redis_url: str = "redis://127.0.0.1:16379/0"  # rediss:// for TLS
    redis_username: str | None = None  # an ACL user
    redis_password: SecretStr | None = None
    redis_ssl_ca_certs: Path | None = None
    cassandra_contact_points: str = "127.0.0.1"  # comma-separated
    cassandra_port: int = Field(default=19042, ge=1, le=65535)
    cassandra_keyspace: str = Field(default="gametime", pattern=r"^[A-Za-z]\w{0,47}$")
    cassandra_replication: dict[str, str | int] = Field(
        default_factory=lambda: dict(_SINGLE_NODE_REPLICATION)
    )
    cassandra_username: str | None = None
    cassandra_password: SecretStr | None = None
    cassandra_ssl_ca_certs: Path | None = None  # set to connect with TLS
    raw_event_ttl_days: int = Field(default=0, ge=0)  # 0 keeps raw events forever

    # Freshness: counts are stale when no processor reported for this long, or when
    # the processors lag more messages than this; minors are then refused unless
    # GAMETIME_ALLOW_MINORS_WHEN_STALE is true.
    stale_after_seconds: float = Field(default=15.0, gt=0)
    stale_max_lag_messages: int = Field(default=100_000, ge=0)
    allow_minors_when_stale: bool = False

    # Processor
    processor_batch_size: int = Field(default=10_000, ge=1)
    processor_poll_timeout_seconds: float = Field(default=0.05, gt=0)
    # How soon the group gives a crashed processor's partitions to the others (or to
    # it, restarted). Kafka's 45 s default stalls those partitions that long; the
    # heartbeat runs on a client thread, so a busy batch never misses one. Brokers
    # accept 6 s to 30 min by default.
    processor_session_timeout_seconds: float = Field(default=10.0, ge=6, le=1800)
    max_message_bytes: int = Field(default=1024 * 1024, ge=1024)
    # The processor counts each event at once but holds its raw event until the
    # minute is this far past, to archive a user's minute in one row write
    # (services/raw_event_buffer.py). It holds at most this many events; 0 writes
    # raw events with every batch instead.
    raw_event_grace_seconds: float = Field(default=10.0, ge=0, le=3600)
    raw_event_buffer_events: int = Field(default=2_000_000, ge=0)

    # Spark processor (`gametime spark`, see docs/spark.md). The checkpoint plays
    # the consumer group's part: a query restarted on it resumes where it stopped.
    spark_master: str = "local[2]"
    spark_checkpoint_dir: str = "var/spark-checkpoint"  # a path, or a URI: hdfs://
    spark_jars_dir: Path | None = None  # from deploy/stack/spark.sh fetch
    spark_trigger_seconds: float = Field(default=1.0, ge=0)
    spark_max_offsets_per_trigger: int = Field(default=500_000, ge=1)

    # Access: keys as SHA-256 digests with scopes (see gametime.api.security)
    auth_required: bool = True
    api_keys: list[ApiKeySetting] = Field(default_factory=list)
    api_keys_file: Path | None = None
    local_key_path: Path = Path("var/local-api-key")
    rate_limit_per_second: float = Field(default=2_000, ge=0)  # per key; 0: none
    api_key: SecretStr | None = None  # what the CLI presents to a running service

    # API
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    max_batch_events: int = Field(default=50_000, ge=1)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        # A folder of zones ("America") raises IsADirectoryError, an OSError.
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("game_limit_overrides")
    @classmethod
    def _non_negative_limits(cls, value: dict[str, int]) -> dict[str, int]:
        negative = {game: limit for game, limit in value.items() if limit < 0}
        if negative:
            raise ValueError(f"limits must be 0 or more, got {negative!r}")
        return value

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def retention_seconds(self) -> int:
        return self.retention_days * 86_400

    def configured_api_keys(self) -> list[ApiKeySetting]:
        """The keys of GAMETIME_API_KEYS and of the GAMETIME_API_KEYS_FILE file."""
        keys = list(self.api_keys)
        if self.api_keys_file is not None:
            try:
                listed = TypeAdapter(list[ApiKeySetting]).validate_json(
                    self.api_keys_file.read_bytes()
                )
            except (OSError, ValidationError) as exc:
                raise ConfigurationError(
                    "GAMETIME_API_KEYS_FILE", f"cannot read {str(self.api_keys_file)!r}"
                ) from exc
            keys += listed
        return keys

    def kafka_config(self) -> dict[str, object]:
        """Client settings shared by producers, consumers and the admin client."""
        config: dict[str, object] = {
            "bootstrap.servers": self.kafka_bootstrap_servers,
            "security.protocol": self.kafka_security_protocol,
        }
        if self.kafka_sasl_mechanism:
            config["sasl.mechanism"] = self.kafka_sasl_mechanism
            config["sasl.username"] = self.kafka_sasl_username or ""
            password = self.kafka_sasl_password
            config["sasl.password"] = password.get_secret_value() if password else ""
        if self.kafka_ssl_ca_location:
            config["ssl.ca.location"] = str(self.kafka_ssl_ca_location)
        return config

    def raw_event_buffer(self, clock: Clock) -> RawEventBuffer | None:
        """The processor's buffer of raw events, or None when it is turned off."""
        from gametime.services.raw_event_buffer import RawEventBuffer

        if not self.raw_event_buffer_events:
            return None
        grace_us = int(self.raw_event_grace_seconds * 1_000_000)
        return RawEventBuffer(
            clock,
            grace_us=grace_us,
            # A quiet stream advances no event time: a minute is archived after
            # its own length and twice the grace of wall time at the latest.
            max_hold_us=60_000_000 + 2 * grace_us,
            max_events=self.raw_event_buffer_events,
        )

    def cassandra_options(self) -> CassandraOptions:
        from gametime.adapters.cassandra import CassandraOptions

        password = self.cassandra_password
        return CassandraOptions(
            contact_points=tuple(
                point.strip() for point in self.cassandra_contact_points.split(",")
            ),
            port=self.cassandra_port,
            keyspace=self.cassandra_keyspace,
            replication=dict(self.cassandra_replication),
            username=self.cassandra_username,
            password=password.get_secret_value() if password else None,
            raw_event_ttl_s=self.raw_event_ttl_days * 86_400,
            ssl_ca_certs=self.cassandra_ssl_ca_certs,
        )

    def calendar(self) -> LocalCalendar:
        return LocalCalendar(self.zone)

    def limits(self) -> Limits:
        return Limits(
            game_minutes=self.minor_game_limit_minutes,
            total_minutes=self.minor_total_limit_minutes,
            game_overrides=dict(self.game_limit_overrides),
        )


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning a validation failure into a ConfigurationError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except SettingsError as exc:
        # Raised before validation when a structured value is not JSON.
        named = re.search(r'field "(\w+)"', str(exc))
        name = ENV_PREFIX + named.group(1).upper() if named else "settings"
        raise ConfigurationError(name, "is not valid JSON") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ENV_PREFIX + str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise ConfigurationError(
            name, f"{first['msg']} (got {first.get('input')!r})"
        ) from exc
