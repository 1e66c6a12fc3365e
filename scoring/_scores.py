"""The validated long-format score table that every scoring function consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def _as_int(name: str, a: ArrayLike) -> IntArray:
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {arr.shape}")
    if arr.size and arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must hold integer ids; found non-integer or NaN values")
    elif arr.size and arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer ids, got dtype {arr.dtype}")
    out = arr.astype(np.int64)
    if out.size and out.min() < 0:
        bad = int(np.flatnonzero(out < 0)[0])
        raise ValueError(f"{name} ids must be >= 0; row {bad} has {int(out[bad])}")
    return out


@dataclass(frozen=True)
class Scores:
    """Judge scores for one stage, in long format (one row per judge x entry).

    Parameters
    ----------
    entry, judge : array of int
        0-based entry and judge ids, one per observation.
    value : array of float
        The judge's total for the entry, in points. Must be finite.
    venue : array of int, optional
        Venue (分会场) of each observation. An entry scored in several venues (an
        anchor) has one row per venue it was scored in.
    recused : array of bool, optional
        ``True`` marks a score given despite a recusal (回避). Recused rows are kept
        for the audit trail but never influence any estimate (see :meth:`active`).
    n_entries, n_judges : int, optional
        Sizes of the id spaces; default ``max(id) + 1``. Entries or judges without
        scores get NaN / 0 results rather than an error.

    Raises
    ------
    ValueError
        On mismatched lengths, non-integer or negative ids, NaN/inf values, ids
        outside ``n_entries``/``n_judges``, or a duplicate ``(entry, judge)`` pair
        (the message names the first duplicate row).

    Examples
    --------
    >>> obs = Scores(entry=[0, 0, 1], judge=[0, 1, 0], value=[85.0, 87.5, 90.0])
    >>> obs.n_entries, obs.n_judges
    (2, 2)
    """

    entry: IntArray
    judge: IntArray
    value: FloatArray
    venue: IntArray | None = None
    recused: BoolArray | None = None
    n_entries: int = -1
    n_judges: int = -1
    n_venues: int = field(default=-1)

    def __init__(
        self,
        entry: ArrayLike,
        judge: ArrayLike,
        value: ArrayLike,
        venue: ArrayLike | None = None,
        recused: ArrayLike | None = None,
        n_entries: int | None = None,
        n_judges: int | None = None,
    ) -> None:
        e = _as_int("entry", entry)
        j = _as_int("judge", judge)
        v = np.asarray(value, dtype=np.float64)
        if v.ndim != 1:
            raise ValueError(f"value must be a 1-D array, got shape {v.shape}")
        n = e.size
        if j.size != n or v.size != n:
            raise ValueError(f"entry, judge and value must have the same length; got {n}, {j.size}, {v.size}")
        if not np.all(np.isfinite(v)):
            bad = int(np.flatnonzero(~np.isfinite(v))[0])
            raise ValueError(f"value must be finite; row {bad} is {v[bad]} (entry {e[bad]}, judge {j[bad]})")
        ven: IntArray | None = None
        if venue is not None:
            ven = _as_int("venue", venue)
            if ven.size != n:
                raise ValueError(f"venue must have one value per observation ({n}), got {ven.size}")
        rec: BoolArray | None = None
        if recused is not None:
            rec = np.asarray(recused, dtype=bool)
            if rec.shape != (n,):
                raise ValueError(f"recused must have one value per observation ({n}), got shape {rec.shape}")
        ne = int(e.max()) + 1 if n else 0
        nj = int(j.max()) + 1 if n else 0
        if n_entries is not None:
            if n_entries < ne:
                raise ValueError(f"n_entries={n_entries} but entry ids go up to {ne - 1}")
            ne = int(n_entries)
        if n_judges is not None:
            if n_judges < nj:
                raise ValueError(f"n_judges={n_judges} but judge ids go up to {nj - 1}")
            nj = int(n_judges)
        if n:
            key = e * max(nj, 1) + j
            order = np.argsort(key, kind="stable")
            dup = np.flatnonzero(key[order][1:] == key[order][:-1])
            if dup.size:
                r1, r2 = sorted((int(order[dup[0]]), int(order[dup[0] + 1])))
                raise ValueError(
                    f"duplicate score for (entry {e[r1]}, judge {j[r1]}) at rows {r1} and {r2}; "
                    "each judge may score an entry once per stage"
                )
        object.__setattr__(self, "entry", e)
        object.__setattr__(self, "judge", j)
        object.__setattr__(self, "value", v)
        object.__setattr__(self, "venue", ven)
        object.__setattr__(self, "recused", rec)
        object.__setattr__(self, "n_entries", ne)
        object.__setattr__(self, "n_judges", nj)
        object.__setattr__(self, "n_venues", int(ven.max()) + 1 if ven is not None and n else 0)

    def __len__(self) -> int:
        return int(self.entry.size)

    def active(self) -> Scores:
        """The same table without recused rows (ids and sizes unchanged)."""
        if self.recused is None or not self.recused.any():
            return self
        keep = ~self.recused
        return Scores(
            self.entry[keep],
            self.judge[keep],
            self.value[keep],
            None if self.venue is None else self.venue[keep],
            n_entries=self.n_entries,
            n_judges=self.n_judges,
        )

    def entry_venue(self) -> IntArray:
        """Venue of each entry: the venue of most of its scores; -1 if none or no venues.

        Ties (an anchor scored equally often in several venues) go to the lowest venue id.
        """
        out = np.full(self.n_entries, -1, dtype=np.int64)
        if self.venue is None or len(self) == 0:
            return out
        nv = self.n_venues
        # count (entry, venue) pairs sparsely (a dense n_entries x n_venues table is too big for
        # large contests), then per entry take the most frequent venue, lowest venue id on ties
        key, cnt = np.unique(self.entry * nv + self.venue, return_counts=True)
        ent, ven = key // nv, key % nv
        order = np.lexsort((ven, -cnt, ent))
        first = np.r_[True, ent[order][1:] != ent[order][:-1]]
        out[ent[order][first]] = ven[order][first]
        return out

    def panel_size(self) -> IntArray:
        """Number of (non-recused) scores per entry."""
        a = self.active()
        return np.bincount(a.entry, minlength=self.n_entries).astype(np.int64)
