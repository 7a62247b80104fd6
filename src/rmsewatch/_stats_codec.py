"""The storage formats of :class:`~rmsewatch.stats.ErrorStats`: bytes and dicts.

The binary blob (what the store keeps per bucket) is, little-endian: a format
byte; the counts as uint64; the sums and extremes as float64; then each KLL
sketch as a uint32 length and its DataSketches serialisation. The dict form is
JSON-safe: non-finite floats become the strings ``"inf"``, ``"-inf"`` and
``"nan"``, sketches become base64. Both round-trip exactly, and a damaged
input raises :class:`~rmsewatch.errors.InvalidInputError` naming what is wrong.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
from collections.abc import Mapping
from typing import Any, Final

from datasketches import kll_doubles_sketch

from rmsewatch._validation import Summary
from rmsewatch.errors import InvalidInputError

__all__ = [
    "COUNT_FIELDS",
    "FLOAT_FIELDS",
    "FORMAT",
    "SKETCH_FIELDS",
    "decode_bytes",
    "decode_dict",
    "encode_bytes",
    "encode_dict",
]

FORMAT: Final = 1
COUNT_FIELDS: Final = ("count", "mape_excluded", "rmsle_excluded")
FLOAT_FIELDS: Final = (
    "weight_sum",
    "weight_sq_sum",
    "error_sum",
    "sq_error_sum",
    "abs_error_sum",
    "quartic_error_sum",
    "true_mean",
    "true_m2",
    "true_min",
    "true_max",
    "abs_error_max",
    "mape_sum",
    "mape_weight",
    "smape_sum",
    "rmsle_sum",
    "rmsle_weight",
)
SKETCH_FIELDS: Final = ("abs_error_sketch", "true_sketch")
_HEADER: Final = struct.Struct(f"<B{len(COUNT_FIELDS)}Q{len(FLOAT_FIELDS)}d")
_LENGTH: Final = struct.Struct("<I")


def encode_bytes(stats: object) -> bytes:
    """Encode the fields of an ErrorStats as one blob."""
    parts = [
        _HEADER.pack(
            FORMAT,
            *(getattr(stats, name) for name in COUNT_FIELDS),
            *(getattr(stats, name) for name in FLOAT_FIELDS),
        )
    ]
    for name in SKETCH_FIELDS:
        sketch_bytes = getattr(stats, name).serialize()
        parts += [_LENGTH.pack(len(sketch_bytes)), sketch_bytes]
    return b"".join(parts)


def decode_bytes(blob: bytes) -> dict[str, Any]:
    """Return the ErrorStats fields held in a blob from :func:`encode_bytes`."""
    view = memoryview(blob)
    if len(view) < 1 or view[0] != FORMAT:
        found = "no format byte" if len(view) < 1 else f"format byte {view[0]}"
        raise InvalidInputError(
            "blob",
            Summary(found),
            f"is not an ErrorStats blob of format {FORMAT}; pass bytes "
            "written by ErrorStats.to_bytes()",
        )
    _check_room(view, 0, _HEADER.size, "the header")
    numbers = _HEADER.unpack_from(view, 0)[1:]
    fields: dict[str, Any] = dict(
        zip(COUNT_FIELDS + FLOAT_FIELDS, numbers, strict=True)
    )
    offset = _HEADER.size
    for name in SKETCH_FIELDS:
        _check_room(view, offset, _LENGTH.size, f"the length of {name}")
        (length,) = _LENGTH.unpack_from(view, offset)
        offset += _LENGTH.size
        _check_room(view, offset, length, name)
        fields[name] = _load_sketch(name, bytes(view[offset : offset + length]))
        offset += length
    if offset != len(view):
        raise InvalidInputError(
            "blob",
            Summary(f"{len(view) - offset} bytes after the last sketch"),
            "is not a single ErrorStats blob; pass exactly the bytes of "
            "ErrorStats.to_bytes()",
        )
    return fields


def encode_dict(stats: object) -> dict[str, int | float | str]:
    """Encode the fields of an ErrorStats as a JSON-safe dict."""
    result: dict[str, int | float | str] = {"format": FORMAT}
    for name in COUNT_FIELDS:
        result[name] = getattr(stats, name)
    for name in FLOAT_FIELDS:
        value: float = getattr(stats, name)
        result[name] = value if math.isfinite(value) else repr(value)
    for name in SKETCH_FIELDS:
        raw = getattr(stats, name).serialize()
        result[name] = base64.b64encode(raw).decode("ascii")
    return result


def decode_dict(data: Mapping[str, object]) -> dict[str, Any]:
    """Return the ErrorStats fields held in a dict from :func:`encode_dict`."""
    if data.get("format") != FORMAT:
        raise InvalidInputError(
            "format",
            data.get("format"),
            f"is not a known ErrorStats format; expected {FORMAT}, as written "
            "by ErrorStats.to_dict()",
        )
    fields: dict[str, Any] = {}
    for name in COUNT_FIELDS:
        fields[name] = _decode_count(name, _require(data, name))
    for name in FLOAT_FIELDS:
        fields[name] = _decode_float(name, _require(data, name))
    for name in SKETCH_FIELDS:
        fields[name] = _decode_sketch(name, _require(data, name))
    return fields


def _check_room(view: memoryview, offset: int, size: int, what: str) -> None:
    if offset + size > len(view):
        raise InvalidInputError(
            "blob",
            Summary(f"{len(view)} byte{'' if len(view) == 1 else 's'}"),
            f"is truncated: {what} needs {size} bytes at offset {offset}; pass "
            "the complete output of ErrorStats.to_bytes()",
        )


def _load_sketch(name: str, raw: bytes) -> kll_doubles_sketch:
    try:
        return kll_doubles_sketch.deserialize(raw)
    except (RuntimeError, ValueError, IndexError) as exc:
        raise InvalidInputError(
            name,
            Summary(f"{len(raw)} bytes"),
            f"is not a valid KLL doubles sketch ({exc})",
        ) from exc


def _require(data: Mapping[str, object], name: str) -> object:
    if name not in data:
        raise InvalidInputError(
            name,
            Summary("missing"),
            "is required; pass the dict of ErrorStats.to_dict()",
        )
    return data[name]


def _decode_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInputError(name, value, "must be a non-negative integer")
    return value


def _decode_float(name: str, value: object) -> float:
    if isinstance(value, str) and value in ("inf", "-inf", "nan"):
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(
            name, value, "must be a number, or 'inf', '-inf' or 'nan' as a string"
        )
    return float(value)


def _decode_sketch(name: str, value: object) -> kll_doubles_sketch:
    if not isinstance(value, str):
        raise InvalidInputError(name, value, "must be a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise InvalidInputError(
            name, Summary(f"{len(value)} characters"), "must be valid base64"
        ) from exc
    return _load_sketch(name, raw)
