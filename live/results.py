"""An entry's panel result and pre-release outlier warnings, from the judges' totals (pure; uses ``scoring``).

The panel score is ``scoring``'s trimmed mean: one highest and one lowest mark dropped when at least five valid
totals exist; recused judges never count. Rounding (half up, 2 decimals) is for display and ranking only.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import msgspec
import numpy as np

import scoring
from live.protocol import JudgeMark


@dataclass(frozen=True)
class PanelMark:
    person_id: int
    name: str
    total: Decimal | None
    """None: no sheet yet."""
    recused: bool = False
    is_chief: bool = False


class PanelOutcome(msgspec.Struct, kw_only=True):
    score: float
    display: str
    judges: list[JudgeMark]
    n_valid: int
    trimmed: int


class Outlier(msgspec.Struct, kw_only=True):
    person_id: int
    name: str
    total: str
    median_others: str
    deviation: float
    """Points above (+) or below (-) the median of the other valid totals."""


def display_score(score: float) -> str:
    return f"{float(scoring.round_half_up(score, 2)):.2f}"


def panel_outcome(marks: list[PanelMark]) -> PanelOutcome:
    """The released result of one entry. Raises ValueError when no valid total exists."""
    scored = [m for m in marks if m.total is not None]
    valid = [m for m in scored if not m.recused]
    if not valid:
        raise ValueError("no valid score: every judge is recused or missing")
    obs = scoring.Scores(
        entry=np.zeros(len(scored), dtype=np.int64), judge=np.arange(len(scored), dtype=np.int64),
        value=np.array([float(m.total) for m in scored if m.total is not None]),
        recused=np.array([m.recused for m in scored]), n_entries=1,
    )
    result = scoring.panel_trimmed(obs)
    score = float(result.score[0])
    # The engine sorts valid marks by (value, judge index) and drops the first and last ``trimmed``: name them.
    t = int(result.trimmed[0])
    order = sorted((i for i, m in enumerate(scored) if not m.recused), key=lambda i: (obs.value[i], i))
    flags: dict[int, str] = {i: "low" for i in order[:t]}
    flags.update({i: "high" for i in order[len(order) - t:]} if t else {})
    assert all(bool(result.dropped[i]) for i in flags)
    judges = [
        JudgeMark(person_id=m.person_id, name=m.name, total=str(m.total), dropped=flags.get(i),  # type: ignore[arg-type]
                  recused=m.recused)
        for i, m in enumerate(scored)
    ]
    return PanelOutcome(score=score, display=display_score(score), judges=judges, n_valid=int(result.n[0]),
                        trimmed=int(result.trimmed[0]))


def outliers(marks: list[PanelMark], *, min_points: float = 8.0, mad_factor: float = 3.0) -> list[Outlier]:
    """Judges far from the rest of the panel: ``|total - median(others)| > max(min_points, k * 1.4826 * MAD)``.

    A robust leave-one-out rule (median and median absolute deviation of the *other* valid totals), so one wild
    mark cannot hide itself by pulling the reference. Needs at least 3 other valid totals.
    """
    valid = [m for m in marks if m.total is not None and not m.recused]
    out: list[Outlier] = []
    for m in valid:
        others = np.array([float(o.total) for o in valid if o.person_id != m.person_id and o.total is not None])
        if others.size < 3:
            continue
        med = float(np.median(others))
        mad = float(np.median(np.abs(others - med))) * 1.4826
        dev = float(m.total) - med  # type: ignore[arg-type]
        if abs(dev) > max(min_points, mad_factor * mad):
            out.append(Outlier(person_id=m.person_id, name=m.name, total=str(m.total),
                               median_others=display_score(med), deviation=round(dev, 2)))
    return out
