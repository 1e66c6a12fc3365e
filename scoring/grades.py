"""Combining stages and assigning grades (quota or threshold rules)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._scores import BoolArray, FloatArray, IntArray
from .aggregate import round_half_up

__all__ = ["Grades", "Quotas", "Thresholds", "assign_grades", "combine", "grade_codes"]

TIE_RULES = ("include", "exclude", "order")


def combine(scores: Mapping[str, ArrayLike], weights: Mapping[str, float]) -> FloatArray:
    """Weighted combination of stage scores, in points: ``final_i = sum_s w_s * score_{s,i}``.

    Parameters
    ----------
    scores : mapping stage name -> float array (n_entries,)
        Each stage's calibrated scores on its own points scale (e.g. both out of 100).
    weights : mapping stage name -> weight
        Used as given (not renormalized): ``{"initial": 0.4, "onsite": 0.6}`` for the
        40/60 default, ``{"report": 1, "delivery": 1}`` for "sum of both".

    Notes
    -----
    Stages are combined in points, never in z-units, so a stage's spread counts as
    the organizer's rubric made it. An entry missing a stage (NaN) gets NaN.

    Raises
    ------
    ValueError
        If a weight names no stage (or the reverse), a weight is not finite, or the
        arrays differ in length.
    """
    if set(scores) != set(weights):
        raise ValueError(f"stages {sorted(scores)} and weights {sorted(weights)} must name the same stages")
    if not scores:
        raise ValueError("combine needs at least one stage")
    arrs = {k: np.asarray(v, dtype=np.float64) for k, v in scores.items()}
    n = {a.shape for a in arrs.values()}
    if len(n) != 1 or next(iter(n)).__len__() != 1:
        raise ValueError(f"every stage must be a 1-D array of the same length, got shapes {sorted(n)}")
    out = np.zeros(next(iter(arrs.values())).shape)
    for k, a in arrs.items():
        w = float(weights[k])
        if not np.isfinite(w):
            raise ValueError(f"weight of stage {k!r} is not finite")
        out = out + w * a if w != 1.0 else out + a
    return out


@dataclass(frozen=True)
class Quotas:
    """Grade by rank share within each group (e.g. per topic type).

    Parameters
    ----------
    shares : sequence of float
        Share of presenting entries in each grade, best first, e.g. ``(0.5, 0.33, 0.17)``
        for 一等/二等/三等. Shares may sum to less than 1: the rest get no grade.
    labels : sequence of str
        Grade names, same length as ``shares``.
    floor : float, optional
        Entries scoring below the floor get no grade, whatever their rank; their
        quota places are not passed on.
    non_presenter : str
        Grade of entries that passed the initial review but did not present (优秀奖).
    ungraded : str
        Label of entries with no grade.
    ties : {"include", "exclude", "order"}
        Entries tied (at ``decimals``) across a quota boundary: ``"include"`` gives all of
        them the better grade (the quota may be exceeded), ``"exclude"`` gives all of them
        the worse grade, ``"order"`` breaks the tie by the ``tiebreak`` key then entry id.
    decimals : int or None
        Scores are compared as displayed (rounded half-up to ``decimals``), so two
        entries shown with the same score are tied. ``None`` compares raw values.
    onward : int
        Recommend the top ``onward`` graded entries of each group onward (0 = none).

    Notes
    -----
    Counts: with ``n`` presenters in a group the best ``round_half_up(n * cumsum(shares))``
    places are graded ``<=`` each grade.
    """

    shares: Sequence[float] = (0.5, 0.33, 0.17)
    labels: Sequence[str] = ("一等奖", "二等奖", "三等奖")
    floor: float | None = 60.0
    non_presenter: str = "优秀奖"
    ungraded: str = "无等级"
    ties: str = "include"
    decimals: int | None = 2
    onward: int = 0

    def __post_init__(self) -> None:
        s = np.asarray(self.shares, dtype=float)
        if s.ndim != 1 or s.size == 0 or np.any(s < 0) or s.sum() > 1 + 1e-9:
            raise ValueError(f"shares must be non-negative and sum to at most 1, got {list(self.shares)}")
        _check_common(self.labels, s.size, self.ties)


@dataclass(frozen=True)
class Thresholds:
    """Grade by fixed score cut-offs: ``score >= cuts[k]`` earns grade ``k`` (best first).

    ``floor``, ``non_presenter``, ``ungraded``, ``decimals`` and ``onward`` as in
    :class:`Quotas`. A score exactly at a cut gets the better grade; ``ties`` has no
    effect (equal displayed scores always get equal grades).
    """

    cuts: Sequence[float] = (90.0, 85.0, 80.0)
    labels: Sequence[str] = ("一等奖", "二等奖", "三等奖")
    floor: float | None = 60.0
    non_presenter: str = "优秀奖"
    ungraded: str = "无等级"
    ties: str = "include"
    decimals: int | None = 2
    onward: int = 0

    def __post_init__(self) -> None:
        c = np.asarray(self.cuts, dtype=float)
        if c.ndim != 1 or c.size == 0 or np.any(np.diff(c) >= 0) or not np.all(np.isfinite(c)):
            raise ValueError(f"cuts must be finite and strictly decreasing, got {list(self.cuts)}")
        _check_common(self.labels, c.size, self.ties)


def _check_common(labels: Sequence[str], k: int, ties: str) -> None:
    if len(labels) != k:
        raise ValueError(f"need {k} labels, got {len(labels)}")
    if ties not in TIE_RULES:
        raise ValueError(f"ties must be one of {TIE_RULES}, got {ties!r}")


Rule = Quotas | Thresholds


def grade_codes(rule: Rule) -> tuple[str, ...]:
    """Names of the grade codes: the rule's labels, then ``ungraded``, then ``non_presenter``."""
    return (*rule.labels, rule.ungraded, rule.non_presenter)


@dataclass(frozen=True)
class Grades:
    """Result of :func:`assign_grades`.

    ``code[i]`` indexes ``names`` (``0..k-1`` the grades, ``k`` ungraded, ``k+1`` non-presenter);
    ``label[i]`` is the name; ``onward[i]`` the onward recommendation; ``rank[i]`` the
    1-based rank within the entry's group among presenters (0 for non-presenters).
    """

    code: IntArray
    names: tuple[str, ...]
    onward: BoolArray
    rank: IntArray

    @property
    def label(self) -> list[str]:
        return [self.names[c] for c in self.code]

    def counts(self) -> dict[str, int]:
        c = np.bincount(self.code, minlength=len(self.names))
        return {n: int(x) for n, x in zip(self.names, c, strict=True)}


def assign_grades(
    final: ArrayLike,
    rule: Rule,
    *,
    group: ArrayLike | None = None,
    presented: ArrayLike | None = None,
    tiebreak: ArrayLike | None = None,
) -> Grades:
    """Assign grades to final scores.

    Parameters
    ----------
    final : float array (n_entries,)
        Final (combined) score; NaN counts as "did not present".
    rule : Quotas or Thresholds
    group : int array, optional
        Quotas and onward recommendations apply within each group (e.g. topic type
        问题解决型 / 创新型, or venue). Default: one group.
    presented : bool array, optional
        ``False`` marks entries that passed the initial review but did not present:
        they get ``rule.non_presenter``. Default: entries with a finite score.
    tiebreak : float array, optional
        Secondary key for ``ties="order"`` (higher is better), e.g. the on-site score.

    Returns
    -------
    Grades

    Notes
    -----
    Ranking is on the displayed score (``rule.decimals``). Quota counts per group are
    ``c_k = round_half_up(n * (s_1 + ... + s_k))`` cumulated; an entry at rank ``r``
    (1-based; tied entries share the best rank under ``"include"``, the worst under
    ``"exclude"``) gets the first grade ``k`` with ``r <= c_k``. The floor then removes
    grades of entries below it. Everything is vectorized; groups are handled by a
    lexicographic sort, not a loop.
    """
    s = np.asarray(final, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"final must be a 1-D array, got shape {s.shape}")
    n = s.size
    pres = np.isfinite(s) if presented is None else np.asarray(presented, dtype=bool) & np.isfinite(s)
    if pres.shape != (n,):
        raise ValueError(f"presented must have one value per entry ({n})")
    g = np.zeros(n, dtype=np.int64) if group is None else np.asarray(group, dtype=np.int64)
    if g.shape != (n,):
        raise ValueError(f"group must have one value per entry ({n})")
    tb = np.zeros(n) if tiebreak is None else np.asarray(tiebreak, dtype=np.float64)
    shown = s if rule.decimals is None else round_half_up(s, rule.decimals)
    shown = np.where(pres, shown, -np.inf)
    k = len(rule.labels)
    code = np.full(n, k, dtype=np.int64)
    # ranks within group (1 = best); ordinal rank with deterministic tie order
    order = (
        np.lexsort((np.arange(n), -tb, -shown, g))
        if rule.ties == "order"
        else np.lexsort((np.arange(n), -shown, g))
    )
    gs, ss = g[order], shown[order]
    pos = np.arange(n)
    new_g = np.r_[True, gs[1:] != gs[:-1]] if n else np.zeros(0, bool)
    gstart = np.maximum.accumulate(np.where(new_g, pos, 0)) if n else pos
    ordinal = pos - gstart + 1
    if rule.ties == "order":
        rank_sorted = ordinal
    else:
        new_run = new_g | np.r_[True, ss[1:] != ss[:-1]] if n else new_g
        run_id = np.cumsum(new_run) - 1
        first = ordinal[new_run][run_id]
        run_len = np.bincount(run_id)
        last = first + run_len[run_id] - 1
        rank_sorted = first if rule.ties == "include" else last
    rank = np.zeros(n, dtype=np.int64)
    rank[order] = rank_sorted
    if isinstance(rule, Quotas):
        npres = np.bincount(g[pres], minlength=int(g.max()) + 1 if n else 0)
        cum = np.cumsum(np.asarray(rule.shares, dtype=float))
        counts = np.floor(npres[:, None] * cum[None, :] + 0.5 + 1e-9).astype(np.int64)
        c_i = counts[g]  # (n, k)
        got = rank[:, None] <= c_i
        code = np.where(got.any(axis=1), np.argmax(got, axis=1), k)
    else:
        cuts = np.asarray(rule.cuts, dtype=float)
        cuts_shown = cuts if rule.decimals is None else round_half_up(cuts, rule.decimals)
        code = np.searchsorted(-cuts_shown, -shown, side="left").astype(np.int64)
    if rule.floor is not None:
        code = np.where(shown < rule.floor, k, code)
    code = np.where(pres, code, k + 1)
    rank = np.where(pres, rank, 0)
    onward = np.zeros(n, dtype=bool)
    if rule.onward > 0:
        onward = pres & (code < k) & (rank <= rule.onward)
    return Grades(code, grade_codes(rule), onward, rank)
