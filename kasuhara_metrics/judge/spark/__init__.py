"""The judge on Apache Spark: the same profile, compiled from the same SQL, over Parquet contacts."""

from .run import judge_parquet
from .session import spark_session

__all__ = ["judge_parquet", "spark_session"]
