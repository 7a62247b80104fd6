"""What one ingest batch did: counts and rejections, summed across batches.

The HTTP reply of ``POST /v1/predictions`` and ``/v1/labels`` and the ingest
section of ``rmsewatch evaluate`` are both built from :class:`IngestResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rmsewatch.events import Rejection

__all__ = ["IngestResult"]


@dataclass
class IngestResult:
    """What one batch did; the HTTP reply and the CLI report are built from it."""

    kind: str
    received: int
    accepted: int = 0
    duplicates: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    joined: int = 0
    orphaned: int = 0
    repeated: int = 0
    corrected: int = 0
    buckets: int = 0

    @property
    def rejected(self) -> int:
        return len(self.rejections)

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON reply of an ingest request."""
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "joined": self.joined,
            "orphaned": self.orphaned,
            "repeated": self.repeated,
            "corrected": self.corrected,
            "rejections": [
                r.as_dict() for r in sorted(self.rejections, key=lambda r: r.index)
            ],
        }

    def add(self, other: IngestResult) -> None:
        """Fold the counts of another batch of the same kind into this one."""
        self.received += other.received
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejections.extend(other.rejections)
        self.joined += other.joined
        self.orphaned += other.orphaned
        self.repeated += other.repeated
        self.corrected += other.corrected
        self.buckets += other.buckets
