"""The Spark Structured Streaming processor: the same counts as `gametime process`.

`session` builds the SparkSession, `source` reads the events topic, `partition`
applies one partition of a micro-batch on an executor, and `job` runs the query.
These modules import pyspark (the `spark` extra); nothing outside this package
imports them but `gametime spark`, and only when it runs.
"""
