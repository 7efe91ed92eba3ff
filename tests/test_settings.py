"""Reading the GAMETIME_ settings from the environment."""

from __future__ import annotations

import os

import pytest

from gametime.errors import ConfigurationError
from gametime.settings import ENV_PREFIX, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Settings from the shell running the tests must not leak into them.
    for name in list(os.environ):
        if name.upper().startswith(ENV_PREFIX):
            monkeypatch.delenv(name)


def configuration_error(**overrides: object) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(**overrides)
    return caught.value


def test_defaults_count_in_ho_chi_minh_city_with_60_and_120_minute_limits() -> None:
    settings = load_settings()
    assert settings.timezone == "Asia/Ho_Chi_Minh"
    assert settings.calendar().zone.key == "Asia/Ho_Chi_Minh"
    limits = settings.limits()
    assert (limits.for_game("any"), limits.total_minutes) == (60, 120)
    assert settings.max_future_skew_seconds == 300


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "UTC+7", "", "../etc/passwd"])
def test_unknown_timezone_in_environment_names_gametime_timezone(
    monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    monkeypatch.setenv("GAMETIME_TIMEZONE", zone)
    error = configuration_error()
    assert error.field == "GAMETIME_TIMEZONE"
    assert repr(zone) in error.message
    assert "GAMETIME_TIMEZONE" in str(error)


def test_unknown_timezone_given_directly_names_gametime_timezone() -> None:
    assert configuration_error(timezone="Nowhere/City").field == "GAMETIME_TIMEZONE"


def test_timezone_naming_a_folder_of_zones_is_a_configuration_error() -> None:
    assert configuration_error(timezone="America").field == "GAMETIME_TIMEZONE"


def test_environment_overrides_zone_limits_and_skew(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GAMETIME_TIMEZONE", "America/New_York")
    monkeypatch.setenv("GAMETIME_MINOR_GAME_LIMIT_MINUTES", "45")
    monkeypatch.setenv("GAMETIME_MINOR_TOTAL_LIMIT_MINUTES", "90")
    monkeypatch.setenv("GAMETIME_GAME_LIMIT_OVERRIDES", '{"chess": 30}')
    monkeypatch.setenv("GAMETIME_MAX_FUTURE_SKEW_SECONDS", "0")
    settings = load_settings()
    assert settings.zone.key == "America/New_York"
    limits = settings.limits()
    assert (limits.for_game("go"), limits.for_game("chess")) == (45, 30)
    assert limits.total_minutes == 90
    assert settings.max_future_skew_seconds == 0


def test_lowercase_variable_names_are_read_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("gametime_timezone", "Europe/London")
    assert load_settings().timezone == "Europe/London"


def test_explicit_overrides_win_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GAMETIME_TIMEZONE", "America/New_York")
    assert load_settings(timezone="Europe/London").timezone == "Europe/London"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GAMETIME_MINOR_GAME_LIMIT_MINUTES", "-1"),
        ("GAMETIME_MINOR_TOTAL_LIMIT_MINUTES", "many"),
        ("GAMETIME_GAME_LIMIT_OVERRIDES", '{"chess": -5}'),
        ("GAMETIME_MAX_FUTURE_SKEW_SECONDS", "-1"),
        ("GAMETIME_RETENTION_DAYS", "0"),
        ("GAMETIME_PORT", "70000"),
        ("GAMETIME_LOG_LEVEL", "LOUD"),
    ],
)
def test_bad_value_is_a_configuration_error_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    assert configuration_error().field == variable


def test_overrides_that_are_not_json_are_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GAMETIME_GAME_LIMIT_OVERRIDES", "chess=30")
    assert configuration_error().field == "GAMETIME_GAME_LIMIT_OVERRIDES"


def test_retention_is_converted_to_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAMETIME_RETENTION_DAYS", "2")
    assert load_settings().retention_seconds == 2 * 86_400


def test_limits_do_not_share_the_settings_override_mapping() -> None:
    settings = load_settings(game_limit_overrides={"chess": 30})
    limits = settings.limits()
    assert limits.game_overrides == {"chess": 30}
    assert limits.game_overrides is not settings.game_limit_overrides


def test_kafka_sasl_and_tls_settings_reach_the_client_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GAMETIME_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("GAMETIME_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("GAMETIME_KAFKA_SASL_USERNAME", "gametime")
    monkeypatch.setenv("GAMETIME_KAFKA_SASL_PASSWORD", "s3cret")
    monkeypatch.setenv("GAMETIME_KAFKA_SSL_CA_LOCATION", "/etc/ssl/ca.pem")

    settings = load_settings()

    assert settings.kafka_config() == {
        "bootstrap.servers": "127.0.0.1:19092",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "gametime",
        "sasl.password": "s3cret",
        "ssl.ca.location": "/etc/ssl/ca.pem",
    }


def test_secrets_never_show_in_the_settings_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("KAFKA_SASL_PASSWORD", "REDIS_PASSWORD", "CASSANDRA_PASSWORD"):
        monkeypatch.setenv(f"GAMETIME_{name}", "s3cret-value")
    monkeypatch.setenv("GAMETIME_API_KEY", "gt_s3cret-value")

    settings = load_settings()

    assert "s3cret" not in repr(settings)
    assert "s3cret" not in str(settings.model_dump())
    options = settings.cassandra_options()
    assert options.password == "s3cret-value"
    assert "s3cret" not in repr(options)
