"""Where the dedupe job's Splink work runs: DuckDB in process, or Apache Spark.

Decisions this module makes (issue 6):

- **Backends**: DuckDB in process by default; Spark (``Settings.dedupe_backend=spark``)
  for national volumes, which needs ``pyspark`` installed and ``BLUELAMP_SPARK_MASTER``.
  Rows are always streamed from the database in batches (plain tuples, never a million
  ORM objects); the comparisons use SQL both engines run.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

from bluelamp.errors import CATALOGUE, ConfigError, FieldProblem, InvalidInput
from bluelamp.records.duplicates.extract import BATCH, new_connection

for _code, _kind, _meaning in [
    (
        "config.dedupe_spark",
        ConfigError,
        "The spark dedupe backend needs pyspark installed and BLUELAMP_SPARK_MASTER set.",
    ),
]:
    CATALOGUE.register(_code, _kind, _meaning)


BACKENDS = ("duckdb", "spark")


class DuckDBEngine:
    """Splink on an in-process DuckDB database."""

    name = "duckdb"

    def __init__(self, connection=None) -> None:
        from splink import DuckDBAPI

        self.connection = connection or new_connection()
        self.api = DuckDBAPI(self.connection)

    def input_frame(self, table: str = "dedupe_input"):
        self.input_table = table
        return self.api.register(table, table_name=f"splink_{table}")

    def query_one(self, sql: str) -> tuple:
        return tuple(self.connection.execute(sql).fetchall()[0])

    def rows(self, table: str, *, batch: int = BATCH) -> Iterator[tuple]:
        cursor = self.connection.execute(f"SELECT * FROM {table}")
        while chunk := cursor.fetchmany(batch):
            yield from chunk

    def close(self) -> None:
        self.connection.close()


class SparkEngine:
    """Splink on Apache Spark (national volumes). The input is prepared in DuckDB from the
    streamed rows, handed over as Parquet, and the heavy pairwise work runs on the cluster."""

    name = "spark"

    def __init__(self, master: str) -> None:
        self.spark = spark_session(master)
        from splink import SparkAPI

        self.connection = new_connection()
        self.folder = tempfile.TemporaryDirectory(prefix="bluelamp-dedupe-")
        # Splink breaks long query lineages by checkpointing: a cluster's own checkpoint
        # directory (shared storage) when it has one, else one beside the input.
        if self.spark.sparkContext.getCheckpointDir() is None:
            self.spark.sparkContext.setCheckpointDir(os.path.join(self.folder.name, "checkpoints"))
        self.api = SparkAPI(spark_session=self.spark)

    def input_frame(self, table: str = "dedupe_input"):
        path = os.path.join(self.folder.name, f"{table}.parquet")
        self.connection.execute(f"COPY {table} TO '{path}' (FORMAT PARQUET)")
        frame = self.api.register(self.spark.read.parquet(path), table_name=f"splink_{table}")
        self.input_table = frame.physical_name
        return frame

    def query_one(self, sql: str) -> tuple:
        return tuple(self.spark.sql(sql).collect()[0])

    def rows(self, table: str, *, batch: int = BATCH) -> Iterator[tuple]:
        for row in self.spark.table(table).toLocalIterator():
            yield tuple(row)

    def close(self) -> None:
        self.connection.close()
        self.folder.cleanup()


def spark_session(master: str):
    """A Spark session on the configured master; ConfigError when pyspark or the master is missing."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError(
            "the spark dedupe backend needs pyspark: install it (pip install pyspark) and set "
            "BLUELAMP_SPARK_MASTER, or use BLUELAMP_DEDUPE_BACKEND=duckdb",
            code="config.dedupe_spark",
        ) from None
    if not master:
        raise ConfigError(
            "the spark dedupe backend needs BLUELAMP_SPARK_MASTER (spark://host:7077)", code="config.dedupe_spark"
        )
    from splink.backends.spark import similarity_jar_location

    # Splink's string similarity functions (Jaro-Winkler, Damerau-Levenshtein) are Scala UDFs
    # in a jar it ships: the session must load it.
    builder = SparkSession.builder.master(master).appName("bluelamp-dedupe")
    return builder.config("spark.jars", similarity_jar_location()).getOrCreate()


def engine_for(backend: str, spark_master: str = ""):
    """The Splink engine for a backend name (duckdb or spark)."""
    choice = (backend or "duckdb").strip().lower()
    if choice == "duckdb":
        return DuckDBEngine()
    if choice == "spark":
        return SparkEngine(spark_master)
    raise InvalidInput(
        f"unknown dedupe backend {backend!r}: use duckdb or spark",
        problems=[FieldProblem("backend", "use duckdb or spark")],
    )
