"""Every place that shows a score rounds it the same way: two decimals, half up (the panel rule the screens use).
The grading pages and exports used ``"%.2f"`` / ``round``, the binary float's half-even: an entry whose trimmed mean
was 56.625 read 56.63 on the big screen and 56.62 in the grade list."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from judging.staff.exports import _round
from judging.web import percent, points
from live.results import PanelMark, panel_outcome

TEMPLATES = Path(__file__).resolve().parents[2] / "judging" / "templates"


@pytest.mark.parametrize(("value", "shown"), [(56.625, "56.63"), (72.625, "72.63"), (2.675, "2.68"),
                                              (88.166666, "88.17"), (-0.125, "-0.13"), (90, "90.00")])
def test_pages_and_exports_round_half_up(value: float, shown: str) -> None:
    assert points(value) == shown
    assert _round(value) == float(shown)


def test_signed_and_missing() -> None:
    assert points(1.005, signed=True) == "+1.01" and points(-1.005, signed=True) == "-1.01"
    assert points(None) == "—" and points(None, missing="") == ""


def test_the_screen_and_the_list_agree_on_a_half() -> None:
    """Five judges, 54 and 59.5 dropped: (55 + 56.375 + 58.5) / 3 = 56.625."""
    from decimal import Decimal

    marks = [PanelMark(i, f"J{i}", Decimal(t), False) for i, t in enumerate(("54", "55", "56.375", "58.5", "59.5"))]
    outcome = panel_outcome(marks)
    assert outcome.display == points(float(outcome.score)) == "56.63"


def test_no_template_formats_a_score_with_printf() -> None:
    offenders = [f"{p.name}: {m}" for p in TEMPLATES.rglob("*.html")
                 for m in re.findall(r'"%[+]?\.[0-9]f%*"\|format\([^)]*\)', p.read_text(encoding="utf-8"))]
    assert offenders == [], "use the points and percent filters (half up), not printf rounding"


@pytest.mark.parametrize(("value", "shown"), [(0.825, "83%"), (0.835, "84%"), (0.8, "80%"), (0.004, "0%"),
                                              (1.0, "100%"), (0.995, "100%")])
def test_a_probability_is_a_whole_percentage_rounded_half_up(value: float, shown: str) -> None:
    assert percent(value) == shown  # "%.0f%%" gave 82% for 0.825
    assert percent(None) == "—" and percent(None, missing="") == ""


@pytest.mark.parametrize("p", [0.825, 0.995, 0.015, 0.125, 0.5, None])
def test_the_exports_show_the_pages_percentage(p: float | None) -> None:
    """One rounding: the .xlsx cell (shown as ``0%``) and the CSV text give the run page's percentage, also on a
    half (0.825 was 0.82 in the exports, half-even on the binary float, and 83% on the page)."""
    import csv
    import io

    from judging.staff.exports import GRADE_HEADERS, PROBABILITY_COLUMN, _grade_row, grade_list_csv

    row = {"code": "2026-001", "probability": p}
    cell = _grade_row(row)[PROBABILITY_COLUMN]
    assert percent(cell) == percent(p)
    lines = list(csv.reader(io.StringIO(grade_list_csv([row]).decode("utf-8-sig"))))
    assert lines[0][PROBABILITY_COLUMN] == GRADE_HEADERS[PROBABILITY_COLUMN] == "该等级概率"
    assert lines[1][PROBABILITY_COLUMN] == percent(p, missing="")
