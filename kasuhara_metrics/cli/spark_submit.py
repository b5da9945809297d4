"""`kasuhara judge --engine spark` as a spark-submit application, for a cluster:

    spark-submit --master yarn --deploy-mode client \
        "$(python -c 'import kasuhara_metrics.cli.spark_submit as s; print(s.__file__)')" \
        --profile thresholds/bunkyo.toml --from s3a://ward-exports/shard-a --out judged/

The arguments are those of `kasuhara judge`; the master and Spark settings are spark-submit's own.
Only the driver runs Python: the judge is Spark SQL, so the executors need nothing of this package.
"""

from __future__ import annotations

import sys

from kasuhara_metrics.cli import main

if __name__ == "__main__":
    main(["judge", "--engine", "spark", *sys.argv[1:]], prog_name="kasuhara judge")
