"""`kasuhara judge --engine spark` as a spark-submit application, for a cluster:

    spark-submit --master yarn --deploy-mode client \
        "$(python -c 'import kasuhara_metrics.cli.spark_submit as s; print(s.__file__)')" \
        --site ward.site.toml --profile thresholds/bunkyo.toml \
        --from hdfs:///lake/site-a/contacts --out /shared/judged/2026-12-01

The arguments are those of `kasuhara judge`, with --site and --timezone (the site's clock, closing
time and calendar, which every shard is judged by); the master and Spark settings are
spark-submit's. Only the driver runs Python: the judge is Spark SQL, so the executors need nothing
of this package.
"""

from __future__ import annotations

import sys

from kasuhara_metrics.cli import main

# Options of `kasuhara` itself, which come before the command.
SITE_OPTIONS = ("--site", "--timezone")


def command_line(arguments: list[str]) -> list[str]:
    """`kasuhara` arguments for the judge on Spark: the site options first, then the judge's."""
    site: list[str] = []
    rest: list[str] = []
    taking = iter(arguments)
    for argument in taking:
        if argument in SITE_OPTIONS:
            site += [argument, next(taking, "")]
        elif argument.startswith(tuple(f"{option}=" for option in SITE_OPTIONS)):
            site.append(argument)
        else:
            rest.append(argument)
    return [*site, "judge", "--engine", "spark", *rest]


if __name__ == "__main__":
    main(command_line(sys.argv[1:]), prog_name="kasuhara")
