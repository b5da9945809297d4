"""kasuhara_metrics: threshold judgement of 拘束 and 繰り返し patterns in municipal call and visit logs.

The package is a library with a thin CLI on top (`kasuhara`). Data flows
export files -> readers (`ingest/`) -> legs and visits -> contacts -> rules -> flags.
A flag is a lead for a person to review, never a verdict.
"""

__version__ = "0.1.0"
