"""Greedy polish: a zero-temperature local search that finishes restart chains (an
addition to the paper's Algorithm 1, docs/science.md §4)."""

from __future__ import annotations

import numpy as np

from .kernels import polish_kernel
from .objective import TIE_TOL, canonical_labels, chain_inputs, modularity


def greedy_polish(B, labels) -> tuple[float, np.ndarray]:
    """Zero-temperature local search on ``labels`` (finishes restart chains; not in the paper).

    Repeats (a) sweeps over the units in index order, moving each unit to the cluster, an
    existing one or a new one, that raises Q (eq. 8) the most, if by more than ``TIE_TOL``,
    until a sweep moves nothing, and (b) the single best merge of two clusters
    (``dQ = 2 sum_{u in c, v in d} B[u, v]``) if it raises Q by more than ``TIE_TOL``; stops
    when (b) finds nothing.  Q never falls, and the result is a local optimum: no single-unit
    move and no merge raises Q by more than ``TIE_TOL``.  Deterministic.  ``B`` is
    symmetrized first.  Returns ``(Q, labels)``, ``Q`` recomputed by eq. 8, labels canonical.
    """
    Bs, labels = chain_inputs(B, labels, "greedy_polish")
    if Bs.shape[0] == 0:
        return 0.0, labels
    out = canonical_labels(polish_kernel(Bs, labels, TIE_TOL))
    return modularity(Bs, out), out
