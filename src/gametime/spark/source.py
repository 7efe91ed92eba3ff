"""The events topic as a Spark stream.

Spark's Kafka source runs the Java client; it gets what librdkafka gets in the
native processor: the bootstrap servers, the security protocol, SASL credentials
(as a JAAS line) and the CA file (as a PEM trust store). It reads from the earliest
offset the first time; after that the checkpoint says where to go on. Each row
keeps the message's exact bytes and where it came from, for the dead letters.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from gametime.settings import Settings

COLUMNS = ("value", "topic", "partition", "offset")
_LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}


def read_events(spark: SparkSession, settings: Settings) -> DataFrame:
    reader = spark.readStream.format("kafka")
    for key, value in kafka_options(settings).items():
        reader = reader.option(key, value)
    return reader.load().select(*COLUMNS)


def kafka_options(settings: Settings) -> dict[str, str]:
    options = {
        "kafka.bootstrap.servers": settings.kafka_bootstrap_servers,
        "kafka.security.protocol": settings.kafka_security_protocol,
        "subscribe": settings.kafka_topic,
        "startingOffsets": "earliest",
        "maxOffsetsPerTrigger": str(settings.spark_max_offsets_per_trigger),
        # Offsets removed by retention before they were read are skipped, as the
        # native consumer does (auto.offset.reset=earliest), rather than stopping
        # the query for good.
        "failOnDataLoss": "false",
    }
    if settings.kafka_sasl_mechanism:
        options["kafka.sasl.mechanism"] = settings.kafka_sasl_mechanism
        options["kafka.sasl.jaas.config"] = _jaas(settings)
    if settings.kafka_ssl_ca_location:
        options["kafka.ssl.truststore.type"] = "PEM"
        options["kafka.ssl.truststore.location"] = str(settings.kafka_ssl_ca_location)
    return options


def _jaas(settings: Settings) -> str:
    mechanism = settings.kafka_sasl_mechanism or "PLAIN"
    password = settings.kafka_sasl_password
    username = _quoted(settings.kafka_sasl_username or "")
    secret = _quoted(password.get_secret_value() if password else "")
    return (
        f"{_LOGIN_MODULES[mechanism]} required username={username} password={secret};"
    )


def _quoted(value: str) -> str:
    """A JAAS string: its parser reads backslash escapes inside double quotes."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
