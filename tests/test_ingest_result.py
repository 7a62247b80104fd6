"""The ingest reply: counts sum across batches, rejections come sorted."""

from __future__ import annotations

from rmsewatch.events import Rejection
from rmsewatch.ingest_result import IngestResult


def test_batches_add_up_and_rejections_come_in_index_order() -> None:
    total = IngestResult("labels", 0)
    first = IngestResult(
        "labels", 3, accepted=2, joined=1, rejections=[Rejection(2, "ts", 1, "x")]
    )
    second = IngestResult(
        "labels",
        4,
        accepted=1,
        duplicates=2,
        orphaned=1,
        rejections=[Rejection(0, "y_true", "a", "must be a JSON number")],
    )

    total.add(first)
    total.add(second)

    reply = total.as_dict()
    assert (total.received, total.rejected) == (7, 2)
    assert (reply["accepted"], reply["duplicates"]) == (3, 2)
    assert (reply["joined"], reply["orphaned"]) == (1, 1)
    assert [r["index"] for r in reply["rejections"]] == [0, 2]
    assert reply["rejections"][0] == {
        "index": 0,
        "field": "y_true",
        "value": "a",
        "reason": "must be a JSON number",
    }
