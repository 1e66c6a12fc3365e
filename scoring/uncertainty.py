"""Grade probabilities and the boundary-review list."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from ._scores import FloatArray, IntArray
from .aggregate import round_half_up
from .calibrate import Calibration
from .grades import Quotas, Rule, grade_codes

__all__ = ["boundary_review", "grade_probabilities"]


def grade_probabilities(
    fits: Calibration | Mapping[str, Calibration],
    weights: Mapping[str, float] | None,
    rule: Rule,
    draws: int = 1000,
    seed: int = 0,
    *,
    group: ArrayLike | None = None,
    presented: ArrayLike | None = None,
    chunk: int = 200,
) -> FloatArray:
    """Probability of each grade for each entry, shape ``(n_entries, n_codes)``.

    Columns follow :func:`scoring.grades.grade_codes`: the rule's grades best first,
    then "ungraded", then the non-presenter grade. Rows sum to 1.

    Parameters
    ----------
    fits : Calibration or mapping stage -> Calibration
    weights : mapping stage -> weight, or None for a single fit (weight 1)
    rule : Quotas or Thresholds
    draws : int
        Monte-Carlo draws.
    seed : int
        Seed of ``numpy.random.default_rng``; results are deterministic given it.
    group, presented : arrays, optional
        As in :func:`scoring.grades.assign_grades`.

    Notes
    -----
    Each stage's scores are drawn with :meth:`Calibration.draw` (the model posterior
    for "calibrated", a judge bootstrap for panel methods, normal SEs otherwise),
    stages are independent, combined with ``weights`` in points, and each draw is
    graded with the same rule (quotas re-ranked per draw). ``P(grade)`` is the share
    of draws. Assumes the model's variance components are right; judge-level
    uncertainty in the variance components and in moderation is not propagated.
    """
    if isinstance(fits, Calibration):
        fits = {"score": fits}
        weights = {"score": 1.0}
    if weights is None:
        if len(fits) != 1:
            raise ValueError("weights are required when several stages are combined")
        weights = {k: 1.0 for k in fits}
    if set(fits) != set(weights):
        raise ValueError(f"fits {sorted(fits)} and weights {sorted(weights)} must name the same stages")
    if draws < 1:
        raise ValueError("draws must be >= 1")
    sizes = {f.n_entries for f in fits.values()}
    if len(sizes) != 1:
        raise ValueError(f"all fits must cover the same entries, got sizes {sorted(sizes)}")
    n = sizes.pop()
    rng = np.random.default_rng(seed)
    point = sum(float(weights[k]) * f.score for k, f in fits.items())
    pres = np.isfinite(point) if presented is None else np.asarray(presented, dtype=bool) & np.isfinite(point)
    g = np.zeros(n, dtype=np.int64) if group is None else np.asarray(group, dtype=np.int64)
    k = len(rule.labels)
    nc = k + 2
    counts = np.zeros(n * nc)
    stages = sorted(fits)
    for s in range(0, draws, chunk):
        b = min(chunk, draws - s)
        total = np.zeros((b, n))
        for name in stages:
            total += float(weights[name]) * fits[name].draw(b, rng)
        codes = _grade_draws(total, rule, g, pres)
        counts += np.bincount((np.arange(n)[None, :] * nc + codes).ravel(), minlength=n * nc)
    return counts.reshape(n, nc) / draws


def _grade_draws(total: FloatArray, rule: Rule, g: IntArray, pres: np.ndarray) -> IntArray:
    """Grade every row of ``total`` (draws x entries) with ``rule``; vectorized over draws."""
    b, n = total.shape
    k = len(rule.labels)
    shown = total if rule.decimals is None else round_half_up(total, rule.decimals)
    shown = np.where(np.isfinite(shown), shown, -np.inf)
    code = np.full((b, n), k, dtype=np.int64)
    if isinstance(rule, Quotas):
        cum = np.cumsum(np.asarray(rule.shares, dtype=float))
        rows = np.arange(b)[:, None]
        for gid in np.unique(g[pres]):
            idx = np.flatnonzero(pres & (g == gid))
            m = idx.size
            order = np.argsort(-shown[:, idx], axis=1, kind="stable")
            rank = np.empty((b, m), dtype=np.int64)
            rank[rows, order] = np.arange(1, m + 1)[None, :]
            c = np.floor(m * cum + 0.5 + 1e-9).astype(np.int64)
            code[:, idx] = np.searchsorted(c, rank, side="left")
    else:
        cuts = np.asarray(rule.cuts, dtype=float)
        cs = cuts if rule.decimals is None else round_half_up(cuts, rule.decimals)
        code = np.searchsorted(-cs, -shown, side="left").astype(np.int64)
    if rule.floor is not None:
        code = np.where(shown < rule.floor, k, code)
    return np.where(pres[None, :], code, k + 1)


def boundary_review(probs: ArrayLike, threshold: float = 0.8) -> IntArray:
    """Entries whose most likely grade has probability below ``threshold`` (default 0.8).

    These are the entries whose grade the data cannot settle; the chief judge should
    review them (e.g. a cross-venue re-judging of recordings). Sorted by that
    probability, least certain first.
    """
    p = np.asarray(probs, dtype=np.float64)
    top = p.max(axis=1)
    idx = np.flatnonzero(top < threshold)
    return idx[np.argsort(top[idx], kind="stable")]


def most_likely(probs: ArrayLike, rule: Rule) -> list[str]:
    """Name of each entry's most likely grade code (see :func:`scoring.grades.grade_codes`)."""
    names = grade_codes(rule)
    return [names[c] for c in np.argmax(np.asarray(probs), axis=1)]
