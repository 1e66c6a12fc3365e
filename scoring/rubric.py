"""Rubric score sheets: validate one judge's item scores and total them."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._scores import FloatArray

__all__ = ["Rubric", "RubricItem"]


@dataclass(frozen=True)
class RubricItem:
    """One item of a score sheet: ``name``, maximum points ``max`` and the allowed ``step``."""

    name: str
    max: float
    step: float


class Rubric:
    """A score sheet (评价表): named items, each scored from 0 to its maximum on a step grid.

    Parameters
    ----------
    items : mapping name -> max points, or sequence of (name, max) or (name, max, step)
        Item order is the sheet order.
    step : float
        Default step of every item (e.g. 0.5 or 0.1); an item may override it.

    Notes
    -----
    A value ``x`` is on the grid when ``x / step`` is within ``1e-9`` of an integer
    (floats like 0.1 are not exact in binary). The total is the plain sum of the
    items, kept at full precision.

    Examples
    --------
    >>> r = Rubric({"选题": 15, "原因分析": 30, "对策与实施": 30, "效果": 25}, step=0.5)
    >>> r.total({"选题": 12.5, "原因分析": 27, "对策与实施": 26, "效果": 20})
    85.5
    """

    def __init__(
        self,
        items: Mapping[str, float] | Sequence[tuple[str, float] | tuple[str, float, float]],
        step: float = 0.5,
    ) -> None:
        raw = list(items.items()) if isinstance(items, Mapping) else list(items)
        if not raw:
            raise ValueError("a rubric needs at least one item")
        parsed: list[RubricItem] = []
        for it in raw:
            name, mx = str(it[0]), float(it[1])
            st = float(it[2]) if len(it) > 2 else float(step)
            if not (math.isfinite(mx) and mx > 0):
                raise ValueError(f"item {name!r}: maximum must be a positive number, got {mx}")
            if not (math.isfinite(st) and st > 0):
                raise ValueError(f"item {name!r}: step must be a positive number, got {st}")
            if not _on_grid(mx, st):
                raise ValueError(f"item {name!r}: maximum {mx} is not a multiple of step {st}")
            parsed.append(RubricItem(name, mx, st))
        names = [p.name for p in parsed]
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise ValueError(f"item {dup!r} appears twice in the rubric")
        self.items: tuple[RubricItem, ...] = tuple(parsed)

    @property
    def names(self) -> tuple[str, ...]:
        """Item names in sheet order."""
        return tuple(i.name for i in self.items)

    @property
    def max_total(self) -> float:
        """Sum of the item maxima (usually 100)."""
        return float(sum(i.max for i in self.items))

    def total(self, item_scores: Mapping[str, float] | Sequence[float]) -> float:
        """Validate one sheet and return its total.

        Parameters
        ----------
        item_scores : mapping item name -> points, or sequence in sheet order

        Raises
        ------
        ValueError
            Naming the item and the reason: missing, unknown, not a number,
            below 0, above its maximum, or off the step grid.
        """
        if isinstance(item_scores, Mapping):
            unknown = [k for k in item_scores if k not in self.names]
            if unknown:
                raise ValueError(f"unknown item {unknown[0]!r}; the rubric has {list(self.names)}")
            missing = [n for n in self.names if n not in item_scores]
            if missing:
                raise ValueError(f"item {missing[0]!r} is missing; every item must be scored")
            vals = [item_scores[n] for n in self.names]
        else:
            vals = list(item_scores)
            if len(vals) != len(self.items):
                raise ValueError(f"expected {len(self.items)} item scores in sheet order, got {len(vals)}")
        total = 0.0
        for item, v in zip(self.items, vals, strict=True):
            total += self._check(item, v)
        return total

    def totals(self, matrix: ArrayLike) -> FloatArray:
        """Vectorized :meth:`total` for a ``(n_sheets, n_items)`` matrix in sheet order.

        Raises
        ------
        ValueError
            For the first invalid cell, naming its row and item.
        """
        m = np.asarray(matrix, dtype=np.float64)
        if m.ndim != 2 or m.shape[1] != len(self.items):
            raise ValueError(f"expected shape (n_sheets, {len(self.items)}), got {m.shape}")
        mx = np.array([i.max for i in self.items])
        st = np.array([i.step for i in self.items])
        ratio = m / st
        bad = ~np.isfinite(m) | (m < 0) | (m > mx + 1e-9) | (np.abs(ratio - np.round(ratio)) > 1e-9)
        if bad.any():
            r, c = (int(x[0]) for x in np.nonzero(bad))
            try:
                self._check(self.items[c], m[r, c])
            except ValueError as exc:
                raise ValueError(f"sheet row {r}: {exc}") from None
        return m.sum(axis=1)

    @staticmethod
    def _check(item: RubricItem, v: object) -> float:
        if v is None:
            raise ValueError(f"item {item.name!r} is missing; every item must be scored")
        try:
            x = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError(f"item {item.name!r}: {v!r} is not a number") from None
        if not math.isfinite(x):
            raise ValueError(f"item {item.name!r} is missing or not a finite number ({v!r})")
        if x < 0:
            raise ValueError(f"item {item.name!r}: {x} is below 0")
        if x > item.max + 1e-9:
            raise ValueError(f"item {item.name!r}: {x} is above its maximum {item.max}")
        if not _on_grid(x, item.step):
            raise ValueError(f"item {item.name!r}: {x} is not a multiple of the step {item.step}")
        return x


def _on_grid(x: float, step: float) -> bool:
    r = x / step
    return abs(r - round(r)) <= 1e-9
