"""`python -m kasuhara_metrics` runs the `kasuhara` command."""

from .cli import main

main()
