"""Panel aggregation: mean, trimmed ("olympic") mean, median, and presentation rounding.

All functions are vectorized over entries: the scores are laid out as a padded
``(n_entries, max_panel)`` matrix sorted within each row, so no Python loop runs
over entries or judges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._scores import FloatArray, IntArray, Scores

__all__ = [
    "PanelResult",
    "default_trim",
    "panel_mean",
    "panel_median",
    "panel_trimmed",
    "round_half_up",
    "trimmed_mean",
]


def round_half_up(x: ArrayLike, decimals: int = 2) -> FloatArray:
    """Round half away from zero at ``decimals`` places, as Chinese score sheets do (四舍五入).

    Use it **only for display** (and for comparing displayed scores); every
    computation keeps full precision.

    Notes
    -----
    Binary floats cannot hold most 2-decimal values exactly (``2.675`` is stored as
    ``2.67499999...``), so ``np.round`` (round-half-even on the binary value) is wrong
    here. We first scale by ``10**decimals`` and snap the result to 6 decimal places,
    which removes the binary representation error, then round half away from zero:
    ``sign(y) * floor(|y| + 1/2) / 10**decimals``. A value closer than ``5e-7`` of a
    unit in the last kept place to a half is treated as exactly half. NaN stays NaN.

    Examples
    --------
    >>> round_half_up([2.675, 2.665, -0.125, 84.285714]).tolist()
    [2.68, 2.67, -0.13, 84.29]
    """
    arr = np.asarray(x, dtype=np.float64)
    f = 10.0**decimals
    y = np.round(arr * f, 6)
    return np.sign(y) * np.floor(np.abs(y) + 0.5) / f


def default_trim(k: ArrayLike, min_for_trim: int = 5, t: int = 1) -> IntArray:
    """Number of marks dropped at *each* end for a panel of ``k`` valid scores.

    ``t`` highest and ``t`` lowest are dropped when ``k >= min_for_trim`` (default: one
    of each from 5 valid scores, the common 去掉一个最高分和一个最低分 rule), otherwise none.
    At least one mark always remains.
    """
    kk = np.asarray(k, dtype=np.int64)
    out = np.where(kk >= min_for_trim, t, 0)
    return np.minimum(out, np.maximum((kk - 1) // 2, 0)).astype(np.int64)


@dataclass(frozen=True)
class PanelResult:
    """Per-entry panel aggregate.

    Attributes
    ----------
    score : float array (n_entries,)
        The aggregate; NaN for entries with no valid score.
    n : int array (n_entries,)
        Number of valid (non-recused) scores.
    trimmed : int array (n_entries,)
        Marks dropped at each end (0 for mean/median).
    dropped : bool array (n_obs,)
        Per observation of the input table: ``True`` if the mark was dropped by
        trimming (recused rows are also ``True``: they never count).
    """

    score: FloatArray
    n: IntArray
    trimmed: IntArray
    dropped: NDArray[np.bool_]


def _sorted_panels(obs: Scores) -> tuple[FloatArray, IntArray, IntArray, IntArray]:
    """Padded matrix of each entry's valid scores sorted by (value, judge id).

    Returns the matrix (NaN padded), the panel sizes, the observation row of each
    cell (-1 padded) and the column of each valid observation row.
    """
    valid = np.ones(len(obs), dtype=bool) if obs.recused is None else ~obs.recused
    rows = np.flatnonzero(valid)
    order = rows[np.lexsort((obs.judge[rows], obs.value[rows], obs.entry[rows]))]
    ent = obs.entry[order]
    n = np.bincount(ent, minlength=obs.n_entries).astype(np.int64)
    kmax = int(n.max()) if n.size else 0
    start = np.concatenate(([0], np.cumsum(n)[:-1])) if n.size else n
    col = np.arange(order.size) - start[ent]
    mat = np.full((obs.n_entries, max(kmax, 1)), np.nan)
    cell_row = np.full((obs.n_entries, max(kmax, 1)), -1, dtype=np.int64)
    mat[ent, col] = obs.value[order]
    cell_row[ent, col] = order
    return mat, n, cell_row, col


def panel_trimmed(obs: Scores, trim: int | None = None, *, min_for_trim: int = 5, t: int = 1) -> PanelResult:
    """Trimmed ("olympic") mean of each entry's valid scores.

    Formula: sort the ``k`` valid marks, drop the ``t`` highest and ``t`` lowest, and
    average the remaining ``k - 2t``:  ``s_i = (1/(k-2t)) * sum_{r=t+1}^{k-t} y_(r)``.

    Parameters
    ----------
    obs : Scores
        Recused rows are excluded before anything else.
    trim : int, optional
        Fixed number dropped at each end for every panel. Default: chosen by panel
        size with :func:`default_trim` (``t`` from ``min_for_trim`` valid marks).
    min_for_trim, t : int
        Parameters of :func:`default_trim` (default: drop 1 + 1 from 5 marks).

    Notes
    -----
    Ties are handled deterministically: marks are ordered by value, then by judge
    id, so among equal lowest marks the lowest judge id is reported as dropped and
    among equal highest marks the highest judge id. The *value* of the trimmed
    mean does not depend on this choice. No rounding happens here.
    """
    mat, n, cell_row, _ = _sorted_panels(obs)
    tt = default_trim(n, min_for_trim, t) if trim is None else np.minimum(trim, np.maximum((n - 1) // 2, 0))
    tt = np.asarray(tt, dtype=np.int64)
    cols = np.arange(mat.shape[1])[None, :]
    keep = (cols >= tt[:, None]) & (cols < (n - tt)[:, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(keep, mat, 0.0).sum(axis=1) / keep.sum(axis=1)
    score[n == 0] = np.nan
    dropped = np.ones(len(obs), dtype=bool)
    dropped[cell_row[keep]] = False
    return PanelResult(score, n, tt, dropped)


def panel_mean(obs: Scores) -> PanelResult:
    """Arithmetic mean of each entry's valid scores: ``s_i = (1/k_i) sum_j y_ij``."""
    return panel_trimmed(obs, trim=0)


def panel_median(obs: Scores) -> PanelResult:
    """Median of each entry's valid scores (mean of the two middle marks when ``k`` is even)."""
    mat, n, _, _ = _sorted_panels(obs)
    lo = np.maximum((n - 1) // 2, 0)
    hi = np.maximum(n // 2, 0)
    idx = np.arange(obs.n_entries)
    score = 0.5 * (mat[idx, lo] + mat[idx, hi])
    score[n == 0] = np.nan
    dropped = np.ones(len(obs), dtype=bool) if obs.recused is None else obs.recused.copy()
    if obs.recused is None:
        dropped[:] = False
    return PanelResult(score, n, np.zeros_like(n), dropped)


def trimmed_mean(values: ArrayLike, trim: int | None = None, *, min_for_trim: int = 5, t: int = 1) -> float:
    """Trimmed mean of one panel's marks (NaN marks, e.g. recused, are ignored).

    Examples
    --------
    >>> trimmed_mean([80, 85, 86, 87, 99])
    86.0
    >>> trimmed_mean([80, 85, 86])   # fewer than 5 marks: plain mean
    83.66666666666667
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    v = np.sort(v[np.isfinite(v)])
    k = v.size
    if k == 0:
        return float("nan")
    tt = int(default_trim(k, min_for_trim, t)) if trim is None else min(trim, (k - 1) // 2)
    return float(v[tt : k - tt].mean())
