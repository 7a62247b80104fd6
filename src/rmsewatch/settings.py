"""How a store buckets, joins and expires events.

The same settings drive ``rmsewatch serve`` and ``rmsewatch evaluate``, so both
paths give the same figures for the same events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rmsewatch.errors import InvalidInputError
from rmsewatch.times import format_duration, parse_duration

__all__ = ["LabelPolicy", "Settings"]

LabelPolicy = Literal["first", "last"]


@dataclass(frozen=True)
class Settings:
    """Join and bucketing settings, durations in microseconds.

    Attributes
    ----------
    bucket_us
        Width of the event-time buckets errors are folded into; every window
        is a whole number of buckets.
    label_ttl_us
        How long after its event time a prediction waits for its label before
        it counts as missing. A label that arrives later still joins and
        counts as late.
    orphan_ttl_us
        How long a label whose prediction has not arrived is kept, measured
        on the model's event-time clock.
    label_policy
        Which label counts when a prediction receives several different
        ones: the ``first`` (later ones are counted and ignored) or the
        ``last`` (each one corrects the aggregates).
    max_batch
        The most events one ingest request may carry.
    """

    bucket_us: int = 3_600_000_000
    label_ttl_us: int = 7 * 86_400_000_000
    orphan_ttl_us: int = 7 * 86_400_000_000
    label_policy: LabelPolicy = "first"
    max_batch: int = 50_000

    def __post_init__(self) -> None:
        if self.label_policy not in ("first", "last"):
            raise InvalidInputError(
                "label_policy", self.label_policy, "must be 'first' or 'last'"
            )
        if self.max_batch < 1:
            raise InvalidInputError("max_batch", self.max_batch, "must be at least 1")

    @classmethod
    def from_text(
        cls,
        *,
        bucket: str = "1h",
        label_ttl: str = "7d",
        orphan_ttl: str = "7d",
        label_policy: str = "first",
        max_batch: int = 50_000,
    ) -> Settings:
        """Build settings from the spellings used on the command line."""
        if label_policy not in ("first", "last"):
            raise InvalidInputError(
                "label_policy", label_policy, "must be 'first' or 'last'"
            )
        return cls(
            bucket_us=parse_duration(bucket, field="bucket"),
            label_ttl_us=parse_duration(label_ttl, field="label_ttl"),
            orphan_ttl_us=parse_duration(orphan_ttl, field="orphan_ttl"),
            label_policy="first" if label_policy == "first" else "last",
            max_batch=max_batch,
        )

    def describe(self) -> dict[str, str | int]:
        """Return the settings as users spell them."""
        return {
            "bucket": format_duration(self.bucket_us),
            "label_ttl": format_duration(self.label_ttl_us),
            "orphan_ttl": format_duration(self.orphan_ttl_us),
            "label_policy": self.label_policy,
            "max_batch": self.max_batch,
        }
