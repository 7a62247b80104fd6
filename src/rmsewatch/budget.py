"""Error budgets and burn rates: the arithmetic of an objective, nothing else.

With a target ``t`` (say 0.99) the error budget is the fraction ``1 - t`` of
slices (Timeslices) or of labelled predictions (Occurrences) that may be bad
over the time window. Over any span, with ``good`` and ``bad`` counted and
"no data" slices left out:

- the error ratio is ``bad / (good + bad)``;
- the burn rate is the error ratio over the budget, ``ratio / (1 - t)``: 1
  spends exactly the budget over the time window, 14.4 spends a 30-day budget
  in 50 hours;
- over the time window itself, the budget consumed is the burn rate, and the
  remaining fraction ``1 - consumed`` (negative once the budget is spent).

The alert windows of the SRE workbook are stated for a 30-day window; for
other time windows both windows scale with it, which keeps the burn rate the
same (``rate = budget fraction x time window / long window``).
"""

from __future__ import annotations

from dataclasses import dataclass

from rmsewatch.errors import InvalidInputError

__all__ = ["BurnWindow", "Spend", "burn_rate", "scale_windows"]

REFERENCE_WINDOW_US = 30 * 86_400_000_000


@dataclass(frozen=True)
class Spend:
    """Good and bad slices (or occurrences) over a span, against a target."""

    good: float
    bad: float
    target: float

    def __post_init__(self) -> None:
        if not 0 < self.target < 1:
            raise InvalidInputError("target", self.target, "must lie between 0 and 1")
        if self.good < 0 or self.bad < 0:
            raise InvalidInputError(
                "good/bad", (self.good, self.bad), "must not be negative"
            )

    @property
    def error_ratio(self) -> float | None:
        """``bad / (good + bad)``; None when the span holds no data."""
        total = self.good + self.bad
        return self.bad / total if total else None

    @property
    def burn_rate(self) -> float | None:
        """How many times faster than allowed the budget burns; None without data."""
        return burn_rate(self.good, self.bad, self.target)

    @property
    def budget_remaining(self) -> float | None:
        """The budget left when this span is the whole time window (1 - burn rate)."""
        rate = self.burn_rate
        return None if rate is None else 1.0 - rate


def burn_rate(good: float, bad: float, target: float) -> float | None:
    """Return ``(bad / (good + bad)) / (1 - target)``, or None without data.

    Examples
    --------
    >>> burn_rate(good=7, bad=1, target=0.75)  # 1/8 bad against 1/4 allowed
    0.5
    """
    total = good + bad
    if not total:
        return None
    return bad / total / (1.0 - target)


@dataclass(frozen=True)
class BurnWindow:
    """Alert when the burn rate exceeds ``rate`` over both windows."""

    long_us: int
    short_us: int
    rate: float


def scale_windows(windows: list[BurnWindow], time_window_us: int) -> list[BurnWindow]:
    """Scale windows stated for a 30-day time window to another time window.

    Examples
    --------
    >>> hour, five = 3_600_000_000, 300_000_000
    >>> scale_windows([BurnWindow(hour, five, 14.4)], 7 * 86_400_000_000)
    [BurnWindow(long_us=840000000, short_us=70000000, rate=14.4)]
    """
    return [
        BurnWindow(
            long_us=w.long_us * time_window_us // REFERENCE_WINDOW_US,
            short_us=w.short_us * time_window_us // REFERENCE_WINDOW_US,
            rate=w.rate,
        )
        for w in windows
    ]
