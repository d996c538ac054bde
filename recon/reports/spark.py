"""`--engine spark`: the engine's kernel run on Apache Spark, one bucket of customers at a time.

Spark reads the lake's Parquet files and hash-partitions the events by customer into buckets
of at most about `RECON_SLICE_EVENTS` events, at least one per core; one bucket is one Spark
partition, loaded whole by `mapInArrow`. Each runs `slice_usage`, and Spark writes the usage
rows and the partner-name keys as Parquet in the home's spill folder. What comes back is a
`SpilledUsage`, so the roll-up, writer, registration and contracts are the embedded engine's:
no billing rule is written twice.

pyspark is imported here only, and only when a Spark report is built: `pip install
'recon[spark]'` and Java 17 or newer; docs/spark.md tells how to run on a cluster.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Final

import polars as pl
import pyarrow as pa

from recon.core import config
from recon.core.config import BillingZones
from recon.core.engines import DEFAULT_SPARK_MASTER, EngineSettings
from recon.core.errors import BadInputError
from recon.core.timezones import DayTable
from recon.engine.coded import CODED, CodedIds
from recon.engine.intervals import RULE_COLUMNS
from recon.engine.proration import USAGE_SCHEMA, partner_names
from recon.home.layout import HomeLayout, event_files
from recon.ingest.codes import code_column
from recon.ingest.lake import event_schema, lake_rows
from recon.reports.coded import lake_ids
from recon.reports.kernel import slice_usage
from recon.reports.usage import USER_ORDER, SpilledUsage, Usage, usage_folder

if TYPE_CHECKING:
    from pyspark import Broadcast
    from pyspark.sql import SparkSession
    from pyspark.sql.types import StructType

JAVA_MAJOR: Final = 17  # Spark 4 runs on Java 17 or newer
INSTALL_HINT: Final = (
    "install it with `pip install 'recon[spark]'` (in a checkout: `make install-spark`), "
    "or leave out --engine spark for the embedded engine"
)
JAVA_HINT: Final = (
    f"install a Java {JAVA_MAJOR}+ runtime (Debian/Ubuntu: apt-get install "
    f"openjdk-{JAVA_MAJOR}-jre-headless) and put it on PATH or in JAVA_HOME, "
    "or leave out --engine spark for the embedded engine"
)

# Name-key rows travel in the kernel's output beside the usage rows: `_key` is null on a usage
# row and holds the partner-name key (partner_org_id set, the rest null) on a name-key row.
_KEY: Final = "_key"
_OUT_SCHEMA: Final[dict[str, pl.DataType]] = {**USAGE_SCHEMA, _KEY: pl.String()}


def require_spark() -> None:
    """Raise a `BadInputError` saying what to install unless pyspark and Java 17+ are here."""
    try:
        import pyspark  # noqa: F401, PLC0415 - only the engine that needs it imports it
    except ImportError as exc:
        raise BadInputError(
            "--engine spark needs pyspark, which is not installed", hint=INSTALL_HINT
        ) from exc
    java = _java()
    if java is None:
        raise BadInputError(
            "--engine spark needs Java, and none was found (JAVA_HOME, PATH)", hint=JAVA_HINT
        )
    major = _java_major(java)
    if major is None or major < JAVA_MAJOR:
        found = "an unreadable version" if major is None else f"Java {major}"
        raise BadInputError(
            f"--engine spark needs Java {JAVA_MAJOR} or newer; {java} is {found}",
            hint=JAVA_HINT,
        )


def _java() -> str | None:
    """The java Spark's launcher runs: JAVA_HOME's when set, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if candidate.is_file() else None
    return shutil.which("java")


def _java_major(java: str) -> int | None:
    """The major version `java -version` reports (8 for "1.8.0_392", 17 for "17.0.15")."""
    try:
        shown = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', shown.stderr + shown.stdout)
    if not found:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major


def spark_session(master: str = DEFAULT_SPARK_MASTER) -> SparkSession:
    """The Spark session reports run on: the process's active one, else a new one on `master`.

    A session recon starts runs its Python workers with this interpreter (unless
    PYSPARK_PYTHON says otherwise) and logs only errors; any session computes in UTC.
    """
    require_spark()
    from pyspark.sql import SparkSession  # noqa: PLC0415

    session = SparkSession.getActiveSession()
    if session is None:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        try:
            session = (
                SparkSession.builder.master(master)
                .appName("recon")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.ui.showConsoleProgress", "false")
                .getOrCreate()
            )
        except Exception as exc:  # the JVM did not start, or the master is unknown
            raise BadInputError(
                f"Spark could not start on master {master!r}: {str(exc).splitlines()[0]}",
                hint="check --spark-master / RECON_SPARK_MASTER and the Java install",
            ) from exc
        session.sparkContext.setLogLevel("ERROR")
    session.conf.set("spark.sql.session.timeZone", "UTC")
    return session


def spark_usage(
    layout: HomeLayout,
    catalog: pl.DataFrame,
    zones: BillingZones,
    tables: dict[str, DayTable],
    now: datetime,
    engine: EngineSettings,
) -> Usage:
    """USER usage of the lake over `tables`' period, computed by Spark (rules §3-§5).

    `tables` is `period_day_tables` of the request. The lake's files are read by Spark (the
    driver only counts rows from the footers); the usage comes back as Parquet parts.
    """
    session = spark_session(engine.spark_master or DEFAULT_SPARK_MASTER)
    files = event_files(layout)
    if not files:
        empty = pl.LazyFrame(schema=event_schema())
        return slice_usage(empty, catalog, zones, tables, now, order_by=USER_ORDER).rows
    from pyspark import StorageLevel  # noqa: PLC0415
    from pyspark.sql import functions as F  # noqa: N812, PLC0415

    schema = event_schema()
    cutoff = max(t.end for t in tables.values())
    parallelism = session.sparkContext.defaultParallelism
    buckets = bucket_count(lake_rows(layout), config.engine_slice_events(), parallelism)
    ids = lake_ids(layout)  # after listing the files: every code in them decodes
    # With codes, Spark reads each coded column's code (unsigned 32-bit, which Spark reads as
    # a long) under the text column's name; the kernel runs on them as embedded does.
    read = {c: schema[c] for c in RULE_COLUMNS}
    if ids is not None:
        read = {c: schema[c] for c in RULE_COLUMNS if c not in CODED}
        read |= {code_column(c): pl.Int64() for c in CODED}
    columns = [F.col(code_column(c)).alias(c) if c in CODED else F.col(c) for c in RULE_COLUMNS]
    events = (
        session.read.schema(_spark_schema(read))
        .parquet(*(_uri(f) for f in files))
        .select(*(columns if ids is not None else RULE_COLUMNS))
        .where(F.col("occurred_at") < F.timestamp_micros(F.lit(cutoff)))
        .repartition(buckets, "customer_org_id")  # one bucket of customers per partition
    )
    shared = session.sparkContext.broadcast(ids) if ids is not None else None
    kernel = partial(
        _bucket_usage, catalog=catalog, zones=zones, tables=tables, now=now, ids=shared
    )
    result = events.mapInArrow(kernel, _spark_schema(_OUT_SCHEMA))
    result = result.persist(StorageLevel.MEMORY_AND_DISK)  # two writes, one computation
    folder = usage_folder(layout)
    try:
        rows = result.where(F.col(_KEY).isNull()).drop(_KEY)
        rows.write.parquet(_uri(folder / "usage"))
        keys = result.where(F.col(_KEY).isNotNull()).select("partner_org_id", _KEY)
        keys.write.parquet(_uri(folder / "names"))
        parts = tuple(sorted((folder / "usage").glob("*.parquet")))
        key_files = sorted((folder / "names").glob("*.parquet"))
        names = partner_names(pl.scan_parquet(key_files)).collect(engine="in-memory")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        result.unpersist()
    return SpilledUsage(folder, parts, names)


def _uri(path: Path) -> str:
    """A local path as Spark reads it (not percent-encoded: Hadoop takes `=` as it is)."""
    return f"file://{path.resolve()}"


def bucket_count(events: int, slice_events: int, parallelism: int = 1) -> int:
    """How many buckets of customers: about `slice_events` events each at most.

    At least one per core Spark has (`parallelism`), so a small lake still uses every core.
    """
    return max(1, parallelism, -(-events // slice_events))


def _bucket_usage(
    batches: Iterator[pa.RecordBatch],
    *,
    catalog: pl.DataFrame,
    zones: BillingZones,
    tables: dict[str, DayTable],
    now: datetime,
    ids: Broadcast[CodedIds] | None = None,
) -> Iterator[pa.RecordBatch]:
    """One bucket's events (a Spark partition) → its usage rows and its partner-name keys.

    Runs on a Spark worker. The name keys leave the bucket beside its rows, before anything is
    folded, so the name the whole lake gives can be taken once, on the driver.
    """
    chunks = list(batches)
    if not chunks:
        return
    schema = event_schema()
    if ids is not None:
        schema |= dict.fromkeys(CODED, pl.UInt32())
    events = pl.DataFrame(pa.Table.from_batches(chunks)).lazy()
    events = events.select([pl.col(c).cast(schema[c]) for c in RULE_COLUMNS])
    part = slice_usage(events, catalog, zones, tables, now, ids=ids.value if ids else None)
    out = pl.concat(
        [part.rows.with_columns(pl.lit(None, pl.String()).alias(_KEY)), part.name_keys],
        how="diagonal_relaxed",
    ).select(list(_OUT_SCHEMA))
    # Polars hands out large or view strings; Spark takes the Arrow types its schema names.
    yield from out.to_arrow().cast(_arrow_schema(_OUT_SCHEMA)).to_batches()


def _arrow_type(dtype: pl.DataType) -> pa.DataType:
    if dtype == pl.String():
        return pa.string()
    if dtype == pl.Int64():
        return pa.int64()
    if dtype == pl.Date():
        return pa.date32()
    if isinstance(dtype, pl.Datetime):
        return pa.timestamp("us", tz="UTC")
    raise TypeError(f"no Spark column type for {dtype}")


def _arrow_schema(columns: dict[str, pl.DataType]) -> pa.Schema:
    return pa.schema([(name, _arrow_type(dtype)) for name, dtype in columns.items()])


def _spark_schema(columns: dict[str, pl.DataType]) -> StructType:
    from pyspark.sql.types import (  # noqa: PLC0415
        DataType,
        DateType,
        LongType,
        StringType,
        StructField,
        StructType,
        TimestampType,
    )

    types: dict[pa.DataType, DataType] = {
        pa.string(): StringType(),
        pa.int64(): LongType(),
        pa.date32(): DateType(),
        pa.timestamp("us", tz="UTC"): TimestampType(),
    }
    arrow = _arrow_schema(columns)
    return StructType([StructField(f.name, types[f.type], nullable=True) for f in arrow])
