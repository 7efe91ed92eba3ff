"""The Kafka source's options: what the native consumer is told, in Java terms."""

from __future__ import annotations

from gametime.settings import load_settings
from gametime.spark.source import kafka_options


def test_the_topic_is_read_from_the_earliest_offset_in_bounded_micro_batches() -> None:
    settings = load_settings(
        kafka_bootstrap_servers="10.0.0.7:9092",
        kafka_topic="events",
        spark_max_offsets_per_trigger=1_000,
    )
    assert kafka_options(settings) == {
        "kafka.bootstrap.servers": "10.0.0.7:9092",
        "kafka.security.protocol": "PLAINTEXT",
        "subscribe": "events",
        "startingOffsets": "earliest",
        "maxOffsetsPerTrigger": "1000",
        "failOnDataLoss": "false",
    }


def test_sasl_credentials_become_a_jaas_line_with_quotes_escaped() -> None:
    options = kafka_options(
        load_settings(
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_mechanism="SCRAM-SHA-512",
            kafka_sasl_username="gametime",
            kafka_sasl_password='pa"ss\\word',
        )
    )
    assert options["kafka.security.protocol"] == "SASL_SSL"
    assert options["kafka.sasl.mechanism"] == "SCRAM-SHA-512"
    assert options["kafka.sasl.jaas.config"] == (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        'username="gametime" password="pa\\"ss\\\\word";'
    )


def test_a_ca_file_becomes_a_pem_trust_store() -> None:
    options = kafka_options(load_settings(kafka_ssl_ca_location="/etc/ca.pem"))
    assert options["kafka.ssl.truststore.type"] == "PEM"
    assert options["kafka.ssl.truststore.location"] == "/etc/ca.pem"
