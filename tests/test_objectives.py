"""Objectives files: what is accepted, and every mistake reported with its path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rmsewatch.objectives import ConfigError, load_objectives, parse_objectives

GOOD = """
slos:
  - name: flights-rmse-1h
    model: flights-arrival-delay
    sli: {kind: rmse_threshold, value: 60, window: 1h, min_count: 50}
    target: 0.99
    runbook_url: https://runbooks.example/flights
  - name: flights-abs-error
    model: flights-arrival-delay
    per_segment: carrier
    sli: {kind: abs_error_ratio, bound: 30}
    target: 0.8
    time_window: 7d
  - name: flights-relative
    model: flights-arrival-delay
    sli: {kind: relative, max_increase: 0.25, baseline: {version: hgb-2013-01-02}}
    target: 0.95
"""


def test_a_good_file_gives_objectives_with_their_defaults() -> None:
    first, second, third = parse_objectives(GOOD).slos

    assert first.budgeting == "Timeslices"
    assert first.time_window == "30d"
    assert first.sli.kind == "rmse_threshold"
    assert (first.sli.op, first.sli.value, first.sli.min_count) == ("lte", 60, 50)
    assert [(w.long, w.short, w.burn_rate) for w in first.alerting.page] == [
        ("1h", "5m", 14.4),
        ("6h", "30m", 6),
    ]
    assert [(w.long, w.short) for w in first.alerting.ticket] == [("3d", "6h")]
    assert second.budgeting == "Occurrences"
    assert second.per_segment == "carrier"
    assert third.sli.kind == "relative"
    assert third.sli.baseline.version == "hgb-2013-01-02"


BAD = """
slos:
  - name: ok
    model: m
    sli: {kind: abs_error_ratio, bound: 30}
    target: 0.95
    budgeting_method: Timeslices
  - name: bad
    model: flights
    sli: {kind: rmse_threshold, value: -3, window: 1x, colour: red}
    target: 1.5
    time_window: 30days
  - name: rel
    model: m
    sli: {kind: relative, max_increase: 0.2, baseline: {trailing: 7d, version: v1}}
    target: 0.9
  - model: m
    sli: {kind: rmse_ratio}
    target: 0.9
  - name: ok
    model: m
    sli: {kind: rmse_threshold, value: 5, window: 30d}
    target: 0.9
    alerting: {page: [{long: 5m, short: 1h, burn_rate: 14.4}]}
"""


def test_every_mistake_is_reported_with_its_path_in_the_file() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_objectives(BAD, source="rmsewatch.yaml")

    assert caught.value.problems == [
        "slos[0]: budgeting_method Timeslices does not fit an abs_error_ratio SLI; "
        "it uses Occurrences",
        "slos[1].sli.value: -3 must be greater than 0",
        "slos[1].sli.window: '1x' is not a duration; write a positive whole number "
        "and a unit (s, m, h, d, w), e.g. 1h, 24h, 7d",
        "slos[1].sli.colour: is not a known field",
        "slos[1].target: 1.5 must be less than 1",
        "slos[1].time_window: '30days' is not a duration; write a positive whole "
        "number and a unit (s, m, h, d, w), e.g. 1h, 24h, 7d",
        "slos[2].sli.baseline: give exactly one of trailing or version",
        "slos[3].name: is required",
        "slos[3].sli.kind: must be one of abs_error_ratio, relative, rmse_threshold",
        "slos[4].alerting.page[0]: short window 1h must be shorter than long",
    ]
    assert str(caught.value).startswith("rmsewatch.yaml: 10 mistake(s)")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("slos: [", "line 1 column"),
        ("- a\n- b", "the file must be a mapping with a 'slos' list"),
        ("slos: []", "file: slos must list at least one objective"),
        (
            "slos:\n  - {name: a, model: m, target: 0.9, sli: {kind: relative, "
            "max_increase: 1, window: 30d}}",
            "slos[0]: sli.window 30d must be shorter than time_window",
        ),
        (
            GOOD.replace("flights-abs-error", "flights-rmse-1h"),
            "slos[1].name: 'flights-rmse-1h' is used by slos[0] already",
        ),
    ],
)
def test_file_level_mistakes_are_named(text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_objectives(text)
    assert problem in caught.value.problems[0]


def test_slo_check_command_reports_and_exits_by_result(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(GOOD)
    bad.write_text(BAD)

    def run(path: Path) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "rmsewatch", "slo", "check", str(path)]
        return subprocess.run(command, capture_output=True, text=True, check=False)

    passed, failed = run(good), run(bad)

    assert passed.returncode == 0
    assert "3 objective(s), no mistakes" in passed.stdout
    assert failed.returncode == 2
    assert "slos[1].sli.window: '1x' is not a duration" in failed.stderr


ONE = (
    "slos:\n"
    "  - {name: a, model: m, target: 0.9, sli: {kind: abs_error_ratio, bound: 3}}\n"
)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (ONE.replace("0.9", '"0.9"'), "slos[0].target: '0.9' must be a valid number"),
        (ONE.replace("bound: 3", "bound: .inf"), "slos[0].sli.bound: inf must be a"),
        (ONE.replace("model: m", "model: a/b"), "slos[0].model: 'a/b' must match"),
        (ONE.replace("target: 0.9", "target: 0.9, target: 0.5"),
         "line 2 column 38: the key 'target' is given twice"),
        (ONE.replace("sli: {kind: abs_error_ratio, bound: 3}",
                     "sli: {kind: relative, max_increase: 1, window: 7h}"),
         "slos[0]: time_window 30d must be a whole number of sli.window 7h slices"),
        (ONE.replace("target: 0.9", "target: 0.9, time_window: 400d"),
         "slos[0]: time_window 400d must be at most 366d"),
        (ONE.replace("sli: {kind: abs_error_ratio, bound: 3}", "sli: {bound: 3}"),
         "slos[0].sli.kind: is required"),
    ],
)  # fmt: skip
def test_values_the_service_cannot_use_are_refused(text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_objectives(text)
    assert caught.value.problems[0].startswith(problem)


def test_files_that_are_not_utf8_text_or_too_big_are_refused(tmp_path: Path) -> None:
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"slos:\n\xff\xfe")
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * 1_000_001)
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_objectives(binary)
    with pytest.raises(ConfigError, match="is over 1,000,000 bytes"):
        load_objectives(big)
