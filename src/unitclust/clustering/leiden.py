"""igraph's Leiden algorithm with the modularity objective: the alternative to Algorithm 1
(``clustering.method: leiden``).  igraph is imported only when this runs."""

from __future__ import annotations

import numpy as np


def leiden_labels(A, seed: int, restarts: int) -> list[np.ndarray]:
    """Leiden partitions of the weighted graph ``A`` (eq. 6, used units only), one per seed.

    The ``restarts`` seeds are drawn from ``np.random.default_rng(seed)``; each run uses
    igraph's modularity objective with ``A``'s upper-triangle weights and iterates until the
    partition is stable.  Returns one int64 label vector (igraph's numbering) per run.
    """
    import random

    import igraph as ig

    n = A.shape[0]
    iu, ju = np.triu_indices(n, k=1)
    w = A[iu, ju]
    keep = w > 0
    g = ig.Graph(n=n, edges=list(zip(iu[keep].tolist(), ju[keep].tolist())), directed=False)
    weights = w[keep].tolist()
    seeds = np.random.default_rng(seed).integers(0, 2**63, size=restarts).tolist()
    results = []
    try:
        for s in seeds:
            ig.set_random_number_generator(random.Random(s))
            part = g.community_leiden(objective_function="modularity", weights=weights, n_iterations=-1)
            results.append(np.asarray(part.membership, dtype=np.int64))
    finally:
        ig.set_random_number_generator(random)
    return results
