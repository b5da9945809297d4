"""A Spark session for the judge: local on this machine by default, or any cluster's master URL."""

from __future__ import annotations

import os
import warnings
from importlib.resources import files
from typing import TYPE_CHECKING

from ...common.errors import KasuharaError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

INSTALL_HINT = (
    "pip install 'kasuhara_metrics[spark]', and Java 17 or later (Debian: apt-get install default-jre-headless)"
)

# Settings the judge relies on, whatever the master.
REQUIRED = {
    # Times stay instants; the judge converts to site time itself (prepare.Clock), so no session
    # zone may shift them on the way.
    "spark.sql.session.timeZone": "UTC",
    # Evidence as Parquet that other tools read as time-zone-aware microseconds (DuckDB: TIMESTAMPTZ),
    # not Spark's legacy INT96.
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}
JAVA_OPTIONS = "spark.driver.extraJavaOptions"
# Settings for a local master on one machine: no web UI to bind, the loopback address (the machine's
# own name may not resolve), and few shuffle partitions for a machine's worth of data.
LOCAL = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",  # the CLI shows its own progress, and cron wants none
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.shuffle.partitions": "8",
}


def spark_session(master: str | None = None, conf: dict[str, str] | None = None) -> SparkSession:
    """Start (or join) the Spark session on `master`; None: the one spark-submit set, else local[*]."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise KasuharaError(f"the Spark engine needs pyspark: {INSTALL_HINT}") from None
    builder = SparkSession.builder.appName("kasuhara judge")
    if master is None and not launched_by_spark_submit():
        master = "local[*]"
    if master is not None:
        builder = builder.master(master)
        if master.startswith("local"):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # else Spark warns it found no other address
    for key, value in session_settings(master, conf).items():
        builder = builder.config(key, value)
    # The judge hands Spark no pandas data (it reads Arrow), so pyspark's doubt about pandas 3 does not apply.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # pyspark says JAVA_GATEWAY_EXITED when there is no Java to start
        raise KasuharaError(f"Spark did not start ({exc.__class__.__name__}: {exc}); it needs {INSTALL_HINT}") from exc
    spark.sparkContext.setLogLevel("ERROR")
    for key, value in REQUIRED.items():  # a session joined, not started, may have been set otherwise
        spark.conf.set(key, value)
    return spark


def session_settings(master: str | None, conf: dict[str, str] | None = None) -> dict[str, str]:
    """The settings a session on `master` starts with: the judge's, a local master's, then `conf`.

    A local driver's JVM reads this package's quiet log4j settings; Java options given in `conf`
    are added after that one, not in its place (the JVM takes the last of a repeated -D).
    """
    settings = dict(conf or {})
    if master is not None and master.startswith("local"):
        log_settings = files("kasuhara_metrics.judge.spark").joinpath("log4j2.properties")
        given = settings.pop(JAVA_OPTIONS, "")
        java_options = f"-Dlog4j2.configurationFile={log_settings} {given}".strip()
        settings = {**LOCAL, JAVA_OPTIONS: java_options, **settings}
    return {**REQUIRED, **settings}


def launched_by_spark_submit() -> bool:
    """spark-submit starts Spark first and hands the Python driver its gateway."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def parse_conf(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """KEY=VALUE settings from the command line."""
    conf = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key.strip():
            raise KasuharaError(f"--spark-conf {pair!r}: write KEY=VALUE, e.g. spark.executor.memory=8g")
        conf[key.strip()] = value.strip()
    return conf
