"""Event times and durations.

Inside rmsewatch every instant is an integer count of microseconds since the
Unix epoch, in UTC, and every duration an integer count of microseconds. This
module turns what users write (``"24h"``, ``"2013-03-01T00:00:00Z"``, epoch
seconds) into those integers and back.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from rmsewatch.errors import InvalidInputError

__all__ = [
    "MAX_DURATION_US",
    "MAX_TS",
    "MIN_TS",
    "US_PER_SECOND",
    "format_duration",
    "format_ts",
    "parse_duration",
    "parse_rfc3339",
    "parse_ts",
]

US_PER_SECOND = 1_000_000
_UNIT_US = {
    "s": US_PER_SECOND,
    "m": 60 * US_PER_SECOND,
    "h": 3_600 * US_PER_SECOND,
    "d": 86_400 * US_PER_SECOND,
    "w": 7 * 86_400 * US_PER_SECOND,
}
_DURATION = re.compile(r"([0-9]{1,9})([smhdw])")
# The longest duration accepted: a century covers any window or TTL.
MAX_DURATION_US = 36_500 * 86_400 * US_PER_SECOND

# Events must lie between 1970 and 2200: earlier or later instants are almost
# always a unit mistake (milliseconds sent as seconds, a zero default).
MIN_TS = 0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RANGE_RULE = "must lie between 1970-01-01 and 2200-01-01 (UTC)"
MAX_TS = int(datetime(2200, 1, 1, tzinfo=UTC).timestamp()) * US_PER_SECOND


def parse_duration(text: str, *, field: str = "duration") -> int:
    """Return the microseconds in a duration such as ``"90s"``, ``"1h"`` or ``"7d"``."""
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if match is None or int(match.group(1)) == 0:
        raise InvalidInputError(
            field,
            text,
            "is not a duration; write a positive whole number and a unit "
            "(s, m, h, d, w), e.g. 1h, 24h, 7d",
        )
    us = int(match.group(1)) * _UNIT_US[match.group(2)]
    if us > MAX_DURATION_US:
        raise InvalidInputError(field, text, "must be at most 36500d")
    return us


def format_duration(us: int) -> str:
    """Return the shortest exact spelling of a duration in d, h, m or s."""
    for unit in ("d", "h", "m", "s"):
        if us % _UNIT_US[unit] == 0:
            return f"{us // _UNIT_US[unit]}{unit}"
    return f"{us / US_PER_SECOND}s"


def parse_ts(value: str | float | int, *, field: str = "ts") -> int:
    """Return microseconds since the epoch for an RFC 3339 string or epoch seconds."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidInputError(
            field, value, "must be an RFC 3339 time with an offset or epoch seconds"
        )
    if isinstance(value, str):
        us = _parse_rfc3339(value, field)
    elif isinstance(value, int):
        us = value * US_PER_SECOND
    else:
        if not np.isfinite(value):
            raise InvalidInputError(field, value, "must be a finite number of seconds")
        if abs(value) >= MAX_TS / US_PER_SECOND:
            raise InvalidInputError(field, value, _RANGE_RULE)
        us = round(value * US_PER_SECOND)
    if not MIN_TS <= us < MAX_TS:
        raise InvalidInputError(field, value, _RANGE_RULE)
    return us


def _parse_rfc3339(text: str, field: str) -> int:
    try:
        return int(parse_rfc3339(pa.array([text], pa.string()))[0])
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        try:
            pa.array([text], pa.string()).cast(pa.timestamp("s", tz="UTC"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise InvalidInputError(
                field,
                text,
                "is not an RFC 3339 time with a UTC offset (e.g. 2013-03-01T06:00:00Z)",
            ) from exc
        raise InvalidInputError(field, text, _RANGE_RULE) from exc


def parse_rfc3339(texts: pa.Array[Any]) -> NDArray[np.int64]:
    """Parse RFC 3339 strings to microseconds since the epoch, in one call.

    Up to nine fractional digits are read; digits past the microsecond are
    dropped. Raises ``pyarrow.ArrowInvalid`` when any string does not parse.
    """
    nanos = texts.cast(pa.timestamp("ns", tz="UTC"))
    micros = nanos.cast(pa.timestamp("us", tz="UTC"), safe=False)
    return np.asarray(micros.cast(pa.int64()).to_numpy(zero_copy_only=False))


def format_ts(us: int) -> str:
    """Return an RFC 3339 UTC string (``...Z``) for microseconds since the epoch."""
    moment = _EPOCH + timedelta(microseconds=us)
    if us % US_PER_SECOND == 0:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
