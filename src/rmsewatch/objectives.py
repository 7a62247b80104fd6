"""Service level objectives on model error, declared in ``rmsewatch.yaml``.

The file speaks OpenSLO's language where it can, so SREs recognise it: each
objective has a name, an indicator (the SLI), a target, a rolling time window,
a budgeting method (``Timeslices`` or ``Occurrences``) and alerting. What
OpenSLO cannot say, the SLI of a regression model with late labels, is said by
three SLI kinds:

``rmse_threshold``
    Time slices of ``window``; a slice is good when its RMSE ``op`` ``value``
    (``lte``: at or under). Budgeting: ``Timeslices``.
``abs_error_ratio``
    Each labelled prediction is good when ``|error| <= bound``. Budgeting:
    ``Occurrences``.
``relative``
    A window's RMSE against a baseline of the same model (its trailing
    ``baseline.trailing`` before the window, or ``baseline.version``); bad
    when it exceeds the baseline by more than ``max_increase``. Budgeting:
    ``Timeslices``.

Every SLI has ``min_count``: a slice with fewer labelled predictions is "no
data", neither good nor bad. Every mistake in a file is reported at once, each
with its path in the file: ``slos[2].sli.window: '1x' is not a duration ...``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from rmsewatch.errors import InvalidInputError, NotFoundError, RmsewatchError
from rmsewatch.times import parse_duration

__all__ = [
    "AlertWindow",
    "ConfigError",
    "Objective",
    "ObjectivesFile",
    "load_objectives",
    "parse_objectives",
]


def _duration(text: str) -> str:
    parse_duration(text, field="")  # raises with the rule; the path comes later
    return text


Duration = Annotated[str, AfterValidator(_duration)]


class _Strict(BaseModel):
    # strict: "0.9" is not a number and true is not a count; no inf or NaN.
    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, allow_inf_nan=False
    )


class AlertWindow(_Strict):
    """Fire when the burn rate exceeds ``burn_rate`` over both windows."""

    long: Duration
    short: Duration
    burn_rate: float = Field(gt=0)

    @model_validator(mode="after")
    def _short_within_long(self) -> AlertWindow:
        if parse_duration(self.short) >= parse_duration(self.long):
            raise ValueError(f"short window {self.short} must be shorter than long")
        return self


# The SRE workbook's multiwindow, multi-burn-rate defaults for a 30-day window
# (Beyer et al., "The Site Reliability Workbook", ch. 5, table 5-8): 2% of the
# budget in 1 hour or 5% in 6 hours pages; 10% in 3 days opens a ticket.
DEFAULT_PAGE = (
    AlertWindow(long="1h", short="5m", burn_rate=14.4),
    AlertWindow(long="6h", short="30m", burn_rate=6),
)
DEFAULT_TICKET = (AlertWindow(long="3d", short="6h", burn_rate=1),)


class Alerting(_Strict):
    page: list[AlertWindow] = Field(default_factory=lambda: list(DEFAULT_PAGE))
    ticket: list[AlertWindow] = Field(default_factory=lambda: list(DEFAULT_TICKET))
    pending_for: Duration | None = Field(default=None, alias="for")


class RmseThreshold(_Strict):
    kind: Literal["rmse_threshold"]
    op: Literal["lte", "lt"] = "lte"
    value: float = Field(gt=0)
    window: Duration = "1h"
    min_count: int = Field(default=30, ge=1)
    confidence: Literal["none", "lower_bound"] = "none"


class AbsErrorRatio(_Strict):
    kind: Literal["abs_error_ratio"]
    bound: float = Field(gt=0)
    min_count: int = Field(default=30, ge=1)


class Baseline(_Strict):
    trailing: Duration | None = None
    version: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Baseline:
        if (self.trailing is None) == (self.version is None):
            raise ValueError("give exactly one of trailing or version")
        return self


class Relative(_Strict):
    kind: Literal["relative"]
    window: Duration = "1h"
    baseline: Baseline = Baseline(trailing="7d")
    max_increase: float = Field(gt=0)
    min_count: int = Field(default=30, ge=1)


Indicator = Annotated[
    RmseThreshold | AbsErrorRatio | Relative, Field(discriminator="kind")
]


class Provisional(_Strict):
    """Slices stay provisional until their label coverage reaches ``coverage``."""

    coverage: float = Field(default=0.9, gt=0, le=1)


class Objective(_Strict):
    """One service level objective on one model's error."""

    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    description: str = ""
    model: str = Field(min_length=1, max_length=128, pattern=r"^[^/\x00-\x1f\x7f]+$")
    version: str | None = None
    segment: dict[str, str] | None = Field(
        default=None, description="filter: one segment name and its value"
    )
    per_segment: str | None = Field(
        default=None, description="evaluate and alert per value of this segment"
    )
    sli: Indicator
    target: float = Field(gt=0, lt=1)
    time_window: Duration = "30d"  # at most MAX_TIME_WINDOW
    budgeting_method: Literal["Timeslices", "Occurrences"] | None = None
    provisional: Provisional = Provisional()
    alerting: Alerting = Alerting()
    runbook_url: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Objective:
        expected = "Occurrences" if self.sli.kind == "abs_error_ratio" else "Timeslices"
        if self.budgeting_method not in (None, expected):
            raise ValueError(
                f"budgeting_method {self.budgeting_method} does not fit an "
                f"{self.sli.kind} SLI; it uses {expected}"
            )
        if self.segment is not None and (
            len(self.segment) != 1 or not all(k and v for k, v in self.segment.items())
        ):
            raise ValueError("segment must name exactly one segment and its value")
        if self.per_segment == "":
            raise ValueError("per_segment must name a segment")
        if parse_duration(self.time_window) > MAX_TIME_WINDOW_US:
            raise ValueError(f"time_window {self.time_window} must be at most 366d")
        if self.segment is not None and self.per_segment is not None:
            raise ValueError("give segment (one value) or per_segment (all), not both")
        window = getattr(self.sli, "window", None)
        if window and parse_duration(window) >= parse_duration(self.time_window):
            raise ValueError(f"sli.window {window} must be shorter than time_window")
        if window and parse_duration(self.time_window) % parse_duration(window):
            raise ValueError(
                f"time_window {self.time_window} must be a whole number of "
                f"sli.window {window} slices"
            )
        return self

    @property
    def budgeting(self) -> str:
        """The budgeting method, as given or implied by the SLI kind."""
        if self.budgeting_method is not None:
            return self.budgeting_method
        return "Occurrences" if self.sli.kind == "abs_error_ratio" else "Timeslices"


class ObjectivesFile(_Strict):
    """The whole ``rmsewatch.yaml``."""

    slos: list[Objective]

    @model_validator(mode="after")
    def _unique_names(self) -> ObjectivesFile:
        if not self.slos:
            raise ValueError("slos must list at least one objective")
        first: dict[str, int] = {}
        repeated = []
        for i, slo in enumerate(self.slos):
            if slo.name in first:
                repeated.append(
                    f"slos[{i}].name: {slo.name!r} is used by slos[{first[slo.name]}] "
                    "already"
                )
            first.setdefault(slo.name, i)
        if repeated:
            raise ValueError("; ".join(repeated))
        return self


class ConfigError(RmsewatchError):
    """An objectives file has mistakes; ``problems`` lists each with its path."""

    exit_code = 2

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        listed = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{source}: {len(problems)} mistake(s)\n{listed}")


MAX_FILE_BYTES = 1_000_000
MAX_TIME_WINDOW_US = 366 * 86_400_000_000


def load_objectives(path: Path) -> ObjectivesFile:
    """Read and check an objectives file; raise ConfigError listing every mistake."""
    if not path.exists():
        raise NotFoundError("objectives file", str(path), "check the path")
    try:
        raw = path.read_bytes()[: MAX_FILE_BYTES + 1]
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot be read: {exc.strerror}"]) from exc
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(str(path), [f"is over {MAX_FILE_BYTES:,} bytes"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            str(path), [f"is not UTF-8 text (invalid byte at offset {exc.start})"]
        ) from exc
    return parse_objectives(text, source=str(path))


class _Loader(yaml.SafeLoader):
    """A safe YAML loader that refuses a key given twice in one mapping."""


def _mapping_without_repeats(loader: Any, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} is given twice", key_node.start_mark
            )
        seen.add(key)
    return dict(loader.construct_mapping(node))


_Loader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_repeats
)


def parse_objectives(text: str, *, source: str = "<text>") -> ObjectivesFile:
    """Check the YAML text of an objectives file."""
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(source, [f"{where}{problem}"]) from exc
    if not isinstance(data, dict):
        raise ConfigError(source, ["the file must be a mapping with a 'slos' list"])
    try:
        return ObjectivesFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, [_describe(e) for e in exc.errors()]) from exc


_KINDS = frozenset({"rmse_threshold", "abs_error_ratio", "relative"})


def _describe(error: Any) -> str:
    """Turn one pydantic error into ``path: value rule``."""
    path = _path(error["loc"])
    kind = error["type"]
    if kind == "missing":
        return f"{path}: is required"
    if kind == "extra_forbidden":
        return f"{path}: is not a known field"
    message = str(error["msg"]).removeprefix("Value error, ")
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, InvalidInputError):
        return f"{path}: {cause.value!r} {cause.rule}"
    if kind == "union_tag_invalid":
        return f"{path}.kind: must be one of {', '.join(sorted(_KINDS))}"
    if kind == "union_tag_not_found":
        return f"{path}.kind: is required ({', '.join(sorted(_KINDS))})"
    if not path and message.startswith("slos["):
        return message  # a check across objectives names its own paths
    value = error.get("input")
    if isinstance(value, dict | list | tuple):
        return f"{path or 'file'}: {message}"
    message = message.replace("Input should be", "must be")
    message = message.replace("String should match pattern", "must match")
    return f"{path}: {value!r} {message}"


def _path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in _KINDS or item == "function-after[_duration(), str]":
            continue  # pydantic's name for a union member, not a key in the file
        else:
            parts.append(f".{item}" if parts else str(item))
    return "".join(parts)
