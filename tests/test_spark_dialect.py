"""The translation of the judge's DuckDB SQL for Spark (judge/spark/dialect.py), rewrite by rewrite,
the command line's Spark options and the session's settings, without starting Spark."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kasuhara_metrics.cli import main
from kasuhara_metrics.judge.spark.dialect import SparkTranslationError, to_spark


def test_a_window_frame_gets_a_literal_interval_from_its_inlined_parameter():
    sql = "SELECT count(*) OVER (ORDER BY t RANGE BETWEEN to_seconds($m * 60) PRECEDING AND CURRENT ROW) FROM x"
    assert "RANGE BETWEEN INTERVAL '5400' SECOND PRECEDING" in to_spark(sql, {"m": 90.0})
    assert "INTERVAL '0.5' SECOND" in to_spark(sql, {"m": 1 / 120})


def test_a_frame_bound_that_is_no_constant_is_refused():
    sql = "SELECT count(*) OVER (ORDER BY t RANGE BETWEEN to_seconds(x.s) PRECEDING AND CURRENT ROW) FROM x"
    with pytest.raises(SparkTranslationError, match="needs a constant"):
        to_spark(sql)


def test_rounding_to_places_is_refused_for_it_differs_between_the_engines():
    with pytest.raises(SparkTranslationError, match="round a double to places differently"):
        to_spark("SELECT round(v, 1) FROM t")


def test_a_time_zone_conversion_must_say_which_way_it_goes():
    with pytest.raises(SparkTranslationError, match="prepare.Clock"):
        to_spark("SELECT timezone('Asia/Tokyo', started_at) FROM contacts")


def test_a_missing_parameter_is_named():
    with pytest.raises(SparkTranslationError, match=r"\$tier_watch"):
        to_spark("SELECT $tier_watch", {})


def test_what_the_engines_spell_differently_is_rewritten():
    spark = to_spark(
        "SELECT count(DISTINCT d) OVER w, epoch(a), epoch_ms(b), list_position(['watch', 'alert'], s), "
        "arg_max(v, (r, v)), arg_max_null(o, r), list(x ORDER BY a, b), a / 60.0, NULL AS g, $kinds "
        "FROM t WINDOW w AS (PARTITION BY k ORDER BY a)",
        {"kinds": ["complaint", "demand"]},
    )
    assert "SIZE(COLLECT_SET(d) OVER w)" in spark
    assert "CAST(UNIX_MICROS(a) AS DOUBLE) / 1000000" in spark  # epoch keeps its fractions
    assert "UNIX_MILLIS(b)" in spark
    assert "NULLIF(ARRAY_POSITION(ARRAY('watch', 'alert'), s), 0)" in spark
    assert "MAX_BY(v, CASE WHEN NOT v IS NULL THEN STRUCT(r, v) END)" in spark
    assert "MAX_BY(o, r)" in spark
    assert "TRANSFORM(ARRAY_SORT(COLLECT_LIST(NAMED_STRUCT('k0', a, 'k1', b, 'v', x))), item -> item.v)" in spark
    assert "a / CAST(60.0 AS DOUBLE)" in spark
    assert "CAST(NULL AS STRING) AS g" in spark
    assert "CAST(ARRAY('complaint', 'demand') AS ARRAY<STRING>)" in spark


def test_the_engines_options_belong_to_their_engine(tmp_path):
    runner = CliRunner()
    base = ["--db", str(tmp_path / "ward.duckdb"), "judge"]
    wrong = runner.invoke(main, [*base, "--out", str(tmp_path / "x")])
    assert wrong.exit_code != 0 and "--from and --out are for --engine spark" in wrong.output
    missing = runner.invoke(main, [*base, "--engine", "spark", "--from", str(tmp_path)])
    assert missing.exit_code != 0 and "needs --from" in missing.output
    conf = runner.invoke(
        main,
        [*base, "--engine", "spark", "--from", str(tmp_path), "--out", str(tmp_path / "o"), "--spark-conf", "novalue"],
    )
    assert conf.exit_code != 0 and "write KEY=VALUE" in conf.output


def test_java_options_given_for_a_local_driver_come_after_the_quiet_log_settings():
    from kasuhara_metrics.judge.spark.session import session_settings

    given = {"spark.driver.extraJavaOptions": "-XX:+UseSerialGC -Dfoo=bar", "spark.executor.memory": "2g"}
    local = session_settings("local[2]", given)
    first, *rest = local["spark.driver.extraJavaOptions"].split()
    name, _, path = first.partition("=")
    assert name == "-Dlog4j2.configurationFile" and path.endswith("log4j2.properties") and Path(path).is_file()
    assert rest == ["-XX:+UseSerialGC", "-Dfoo=bar"]
    assert local["spark.executor.memory"] == "2g" and local["spark.ui.enabled"] == "false"
    assert local["spark.sql.session.timeZone"] == "UTC"
    # a cluster's driver takes the options as given, and none of the local master's settings
    cluster = session_settings("spark://head:7077", given)
    assert cluster["spark.driver.extraJavaOptions"] == given["spark.driver.extraJavaOptions"]
    assert "spark.ui.enabled" not in cluster and cluster["spark.sql.session.timeZone"] == "UTC"
    assert session_settings("local[*]")["spark.driver.extraJavaOptions"] == first
