r"""Entry script for spark-submit: runs `gametime spark` with the GAMETIME_ settings.

    spark-submit --packages org.apache.spark:spark-sql-kafka-0-10_2.13:4.2.0 \
        deploy/spark/submit.py [--available-now]

spark-submit's master, packages and configuration take the place of
GAMETIME_SPARK_MASTER and GAMETIME_SPARK_JARS_DIR. See docs/spark.md.
"""

import sys

from gametime.cli.main import run

sys.argv[1:1] = ["spark"]  # the script's own arguments go to the command
run()
