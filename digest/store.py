"""SQLite storage: feeds and their HTTP state, items, documents, summaries, digest runs and the delivery ledger.

WAL mode and a busy timeout let the scheduler, the web app and a manual CLI run share one file. The schema
moves forward by numbered migrations under `PRAGMA user_version`. Callers pass `now`; nothing here reads the
clock.
"""

from __future__ import annotations

from .store_bounces import BounceStore
from .store_choices import ChoiceStore
from .store_items import ItemStore, summary_from_json, summary_json
from .store_readers import ReaderStore
from .store_runs import RunStore

__all__ = ["Store", "summary_from_json", "summary_json"]


class Store(BounceStore, ItemStore, RunStore, ReaderStore, ChoiceStore):
    """One connection to the database file (store_schema), with the item queries (store_items), the run and
    ledger queries (store_runs), the bounces (store_bounces), what each reader is owed (store_readers) and the
    editor's choices on items (store_choices). Use one Store per thread."""
