"""The shipped threshold profiles: package data of kasuhara_metrics, as `kasuhara_metrics.thresholds`."""
