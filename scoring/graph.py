"""Connected components of the entry-judge graph (which scores can be compared at all)."""

from __future__ import annotations

import numpy as np

from ._scores import IntArray, Scores

__all__ = ["connected_components"]


def connected_components(obs: Scores) -> tuple[IntArray, IntArray]:
    """Connected components of the bipartite entry-judge graph.

    Two entries are in the same component when a chain of shared judges (or shared
    entries, e.g. anchors) links them. Severity corrections can only compare
    entries inside one component; across components any comparison rests on an
    assumption (random assignment, anchors, or an external yardstick).

    Returns
    -------
    entry_component : int array (n_entries,)
        Component id per entry, numbered 0.. in order of each component's lowest
        entry id; -1 for entries with no valid score.
    judge_component : int array (n_judges,)
        Component id per judge; -1 for judges with no valid score.

    Notes
    -----
    Min-label propagation over edges with pointer jumping, vectorized with
    ``np.minimum.at``; O(n_obs) per round and O(log diameter) rounds in practice.
    """
    a = obs.active()
    ne, nj = a.n_entries, a.n_judges
    u = a.entry
    v = a.judge + ne
    label = np.arange(ne + nj, dtype=np.int64)
    while True:
        old = label.copy()
        m = np.minimum(label[u], label[v])
        np.minimum.at(label, u, m)
        np.minimum.at(label, v, m)
        while True:  # pointer jumping: follow labels to their roots
            nxt = label[label]
            if np.array_equal(nxt, label):
                break
            label = nxt
        if np.array_equal(label, old):
            break
    has = np.zeros(ne + nj, dtype=bool)
    has[u] = True
    has[v] = True
    roots = label[:ne][has[:ne]]
    uniq = np.unique(roots)  # roots are minimum node ids, hence entry ids in ascending order
    remap = np.full(ne + nj, -1, dtype=np.int64)
    remap[uniq] = np.arange(uniq.size)
    comp = remap[label]
    comp[~has] = -1
    return comp[:ne], comp[ne:]
