"""Error budget and burn-rate arithmetic, by hand."""

from __future__ import annotations

import pytest

from rmsewatch.budget import BurnWindow, Spend, burn_rate, scale_windows
from rmsewatch.errors import InvalidInputError

HOUR = 3_600_000_000
MINUTE = 60_000_000
DAY = 24 * HOUR


def test_burn_rate_is_the_error_ratio_over_the_budget() -> None:
    # 99% target: the budget is 1%. 3 bad slices of 100 burn it 3 times too fast.
    assert burn_rate(good=97, bad=3, target=0.99) == pytest.approx(3.0, rel=1e-12)
    # The workbook's page threshold: 14.4 x 0.1% = 1.44% of requests bad.
    assert burn_rate(good=9_856, bad=144, target=0.999) == pytest.approx(14.4)


def test_no_data_has_no_burn_rate() -> None:
    assert burn_rate(good=0, bad=0, target=0.99) is None
    assert Spend(0, 0, 0.99).budget_remaining is None


def test_budget_remaining_over_the_whole_window() -> None:
    # 30 days of 1h slices, target 99%: 7.2 bad slices allowed. 3 bad of 720
    # spend 3 / 7.2 = 41.7% of the budget.
    spend = Spend(good=717, bad=3, target=0.99)
    assert spend.error_ratio == pytest.approx(3 / 720)
    assert spend.budget_remaining == pytest.approx(1 - 3 / 7.2, rel=1e-12)
    overspent = Spend(good=700, bad=20, target=0.99)
    assert overspent.budget_remaining == pytest.approx(1 - 20 / 7.2, rel=1e-12)


def test_windows_scale_with_the_time_window_and_keep_their_rate() -> None:
    page = [BurnWindow(HOUR, 5 * MINUTE, 14.4), BurnWindow(6 * HOUR, 30 * MINUTE, 6)]

    week = scale_windows(page, 7 * DAY)

    assert week == [
        BurnWindow(14 * MINUTE, 70_000_000, 14.4),
        BurnWindow(84 * MINUTE, 7 * MINUTE, 6),
    ]
    assert scale_windows(page, 30 * DAY) == page
    # rate = budget fraction x window / long window: 2% in 1h of 30 days.
    assert pytest.approx(14.4) == 0.02 * (30 * DAY) / HOUR


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"good": 1, "bad": 1, "target": 1.0}, "target: 1.0 must lie between 0 and 1"),
        ({"good": -1, "bad": 1, "target": 0.9}, "must not be negative"),
    ],
)
def test_spend_refuses_impossible_inputs(
    kwargs: dict[str, float], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        Spend(**kwargs)
