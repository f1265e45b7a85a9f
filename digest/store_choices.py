"""The store's record of the editor's calls on items waiting for the digest: leave one out, or include one the
relevance filter dropped. Compose honours them through `daily` (the summary's verdict is overridden)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from .store_schema import Database
from .store_schema import ts as _ts

Choice = Literal["leave-out", "include"]
CHOICES: tuple[Choice, ...] = ("leave-out", "include")


class ChoiceStore(Database):
    """The editor's leave-out / include-anyway choices, one per item at most."""

    def item_choices(self) -> dict[int, Choice]:
        return {int(r[0]): r[1] for r in self.db.execute("SELECT item_id, choice FROM item_choices")}

    def choose(self, item_id: int, choice: Choice | None, *, now: datetime) -> None:
        """Record the editor's call on an item; None takes it back (the filter decides again)."""
        if choice is None:
            self.db.execute("DELETE FROM item_choices WHERE item_id=?", (item_id,))
            return
        self.db.execute(
            "INSERT INTO item_choices (item_id, choice, created) VALUES (?,?,?) "
            "ON CONFLICT(item_id) DO UPDATE SET choice=excluded.choice, created=excluded.created",
            (item_id, choice, _ts(now)),
        )
