"""Probation Digest: one email a day with everything new from the probation sector's sources, summarised."""

__version__ = "0.1.0"
