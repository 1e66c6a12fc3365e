"""Small vectorized statistical helpers (no scipy): normal tail, chi-square tail, BH, ranks."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._scores import FloatArray, IntArray

_SQRT2 = np.sqrt(2.0)


def erfc(x: ArrayLike) -> FloatArray:
    """Complementary error function, |relative error| < 1.2e-7 (Numerical Recipes ``erfcc``)."""
    z = np.abs(np.asarray(x, dtype=np.float64))
    t = 1.0 / (1.0 + 0.5 * z)
    poly = (
        -z * z
        - 1.26551223
        + t
        * (
            1.00002368
            + t
            * (
                0.37409196
                + t
                * (
                    0.09678418
                    + t
                    * (
                        -0.18628806
                        + t
                        * (
                            0.27886807
                            + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))
                        )
                    )
                )
            )
        )
    )
    ans = t * np.exp(poly)
    return np.where(np.asarray(x) >= 0, ans, 2.0 - ans)


def norm_sf(z: ArrayLike) -> FloatArray:
    """Upper tail P(Z > z) of the standard normal."""
    return 0.5 * erfc(np.asarray(z, dtype=np.float64) / _SQRT2)


def norm_cdf(z: ArrayLike) -> FloatArray:
    """P(Z <= z) of the standard normal."""
    return 0.5 * erfc(-np.asarray(z, dtype=np.float64) / _SQRT2)


def chi2_sf(x: ArrayLike, df: ArrayLike) -> FloatArray:
    """Upper tail of chi-square(df) by the Wilson-Hilferty cube-root normal approximation."""
    xx = np.maximum(np.asarray(x, dtype=np.float64), 0.0)
    k = np.maximum(np.asarray(df, dtype=np.float64), 1e-9)
    z = ((xx / k) ** (1.0 / 3.0) - (1.0 - 2.0 / (9.0 * k))) / np.sqrt(2.0 / (9.0 * k))
    return norm_sf(z)


def binom_sf(c: ArrayLike, n: ArrayLike, p: float) -> FloatArray:
    """P(X >= c) for X ~ Binomial(n, p), exact by summing the pmf (n up to a few thousand)."""
    cc = np.asarray(c, dtype=np.int64)
    nn = np.asarray(n, dtype=np.int64)
    nmax = int(nn.max()) if nn.size else 0
    ks = np.arange(nmax + 1)
    # log pmf for every (n, k) pair via lgamma differences, vectorized over the rows
    from math import lgamma

    lg = np.array([lgamma(i + 1.0) for i in range(nmax + 2)])
    logpmf = (
        lg[nn][:, None]
        - lg[ks][None, :]
        - lg[np.maximum(nn[:, None] - ks[None, :], 0)]
        + ks[None, :] * np.log(p)
        + (nn[:, None] - ks[None, :]) * np.log1p(-p)
    )
    pmf = np.where(ks[None, :] <= nn[:, None], np.exp(logpmf), 0.0)
    tail = np.where(ks[None, :] >= cc[:, None], pmf, 0.0).sum(axis=1)
    return np.clip(tail, 0.0, 1.0)


def bh_qvalues(p: ArrayLike) -> FloatArray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN p-values are ignored."""
    pp = np.asarray(p, dtype=np.float64)
    q = np.full(pp.shape, np.nan)
    ok = np.isfinite(pp)
    m = int(ok.sum())
    if m == 0:
        return q
    pv = pp[ok]
    order = np.argsort(pv)
    ranked = pv[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(ranked, 1.0)
    q[ok] = out
    return q


def group_average_ranks(group: IntArray, value: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Average ranks (1-based, ties averaged) of ``value`` within each ``group``.

    Returns the ranks and, per observation, the tie-group size ``t`` (so callers can
    form the tie correction ``sum(t**3 - t)``).
    """
    n = value.size
    if n == 0:
        return np.empty(0), np.empty(0)
    order = np.lexsort((value, group))
    g, v = group[order], value[order]
    new_group = np.r_[True, g[1:] != g[:-1]]
    new_run = new_group | np.r_[True, v[1:] != v[:-1]]
    pos = np.arange(n)
    gstart = np.maximum.accumulate(np.where(new_group, pos, 0))
    run_id = np.cumsum(new_run) - 1
    run_start = pos[new_run]
    run_len = np.diff(np.r_[run_start, n])
    avg = (run_start - gstart[new_run]) + (run_len + 1) / 2.0
    ranks = np.empty(n)
    ranks[order] = avg[run_id]
    ties = np.empty(n)
    ties[order] = run_len[run_id]
    return ranks, ties


def group_pearson(
    group: IntArray, x: FloatArray, y: FloatArray, n_groups: int
) -> tuple[FloatArray, IntArray]:
    """Pearson correlation of ``x`` and ``y`` within each group (NaN when undefined)."""
    cnt = np.bincount(group, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = np.bincount(group, x, n_groups) / cnt
        my = np.bincount(group, y, n_groups) / cnt
        dx = x - mx[group]
        dy = y - my[group]
        sxy = np.bincount(group, dx * dy, n_groups)
        sxx = np.bincount(group, dx * dx, n_groups)
        syy = np.bincount(group, dy * dy, n_groups)
        r = sxy / np.sqrt(sxx * syy)
    return r, cnt.astype(np.int64)


def _huber_consistency(k: float) -> float:
    """E[min(1, k/|Z|) Z^2] for Z ~ N(0,1): divides Huber-weighted squared residuals."""
    z = np.linspace(-12, 12, 48001)
    phi = np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
    w = np.minimum(1.0, k / np.maximum(np.abs(z), 1e-12))
    f = w * z * z * phi
    return float(np.sum(0.5 * (f[1:] + f[:-1]) * np.diff(z)))
