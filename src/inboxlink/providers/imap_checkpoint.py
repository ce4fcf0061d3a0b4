"""Where an IMAP folder's sync stands, as a JSON-able dict the engine stores with each batch.

A checkpoint describes exactly what the batches up to and including its own covered, so a
crash between batches repeats at most the last one:

* ``top`` -- every UID at or below it belongs to the first full pass (backfill); incremental
  sync looks only above it, and raises it batch by batch.
* ``backfill_below`` -- while backfill runs (newest first), the UIDs at or above it are done;
  the pass still owes the UIDs below it whose INTERNALDATE is on or after ``since``.
* ``highestmodseq`` -- CONDSTORE/QRESYNC position for reporting expunged messages.

Everything is tied to ``uidvalidity``; when the server changes it, UIDs mean nothing any more
and the folder is backfilled again (the engine deduplicates by Message-ID).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date
from typing import Any

VERSION = 1


@dataclass(frozen=True, slots=True)
class FolderCheckpoint:
    uidvalidity: int
    top: int
    since: str
    backfill_below: int
    total: int
    highestmodseq: int | None = None
    done: bool = False

    @classmethod
    def start(
        cls, uidvalidity: int, top: int, since: date, total: int, highestmodseq: int | None
    ) -> FolderCheckpoint:
        """A backfill pass over UIDs ``1..top`` that has covered nothing yet."""
        return cls(uidvalidity, top, since.isoformat(), top + 1, total, highestmodseq)

    def backfilled_down_to(self, uid: int, *, last: bool) -> FolderCheckpoint:
        return replace(self, backfill_below=0 if last else uid, done=last)

    def advanced(self, top: int, highestmodseq: int | None) -> FolderCheckpoint:
        return replace(self, top=max(self.top, top), highestmodseq=highestmodseq)

    def as_dict(self) -> dict[str, Any]:
        return {"v": VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> FolderCheckpoint | None:
        """The checkpoint, or None when absent or unreadable (which means: backfill again)."""
        if not data or data.get("v") != VERSION:
            return None
        try:
            modseq = data.get("highestmodseq")
            return cls(
                uidvalidity=int(data["uidvalidity"]),
                top=int(data["top"]),
                since=date.fromisoformat(str(data["since"])).isoformat(),
                backfill_below=int(data["backfill_below"]),
                total=int(data["total"]),
                highestmodseq=int(modseq) if modseq is not None else None,
                done=bool(data["done"]),
            )
        except (KeyError, TypeError, ValueError):
            return None
