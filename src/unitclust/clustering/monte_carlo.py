"""Algorithm 3 (Appendix A.1): entropy-controlled Monte Carlo, and its temperature solve.

The compiled kernel is :func:`unitclust.clustering.kernels.mc_kernel`; this module draws the
random numbers, checks arguments and recomputes Q* of the result.  The choices the paper
leaves open are written down in ``docs/science.md`` §4.
"""

from __future__ import annotations

import math

import numpy as np

from .kernels import mc_kernel, move_weights
from .objective import TIE_TOL, canonical_labels, chain_inputs, modularity

def check_mc_args(steps, target_entropy, steps_name="mc_steps") -> None:
    """Raise ``ValueError`` unless ``steps`` is an integer >= 0 and ``target_entropy`` a
    finite number >= 0."""
    if int(steps) != steps or steps < 0:
        raise ValueError(f"{steps_name} must be a non-negative integer, got {steps!r}")
    if not (np.isfinite(target_entropy) and target_entropy >= 0):
        raise ValueError(f"target_entropy must be a finite number >= 0, got {target_entropy!r}")


def monte_carlo(B, labels, mc_steps, target_entropy, rng) -> tuple[float, np.ndarray]:
    """Algorithm 3 (Appendix A.1): entropy-controlled Monte Carlo refinement of ``labels``.

    ``mc_steps`` times: pick a random unit i (of ``B``; pass ``B`` of the used units only),
    score moving it to every existing cluster and to one new cluster, update the best
    (Q, P) from every scored candidate, then draw the move from ``softmax(dQ / tau)`` with
    ``tau`` solved so that its entropy is ``target_entropy`` nats.  ``B`` is symmetrized
    first.  Random draws: ``rng.integers(0, n, size=mc_steps)`` then ``rng.random(mc_steps)``.
    Returns ``(Q*, labels*)`` for the best assignment ever seen, ``Q*`` recomputed by eq. 8
    and the labels canonical.
    """
    check_mc_args(mc_steps, target_entropy)
    Bs, labels = chain_inputs(B, labels, "monte_carlo")
    n = Bs.shape[0]
    if n == 0:
        return 0.0, labels
    units = rng.integers(0, n, size=int(mc_steps))
    draws = rng.random(int(mc_steps))
    _, best, _, _ = mc_kernel(Bs, labels, units.astype(np.int64, copy=False), draws,
                              float(target_entropy), TIE_TOL)
    best = canonical_labels(best)
    return modularity(Bs, best), best


def entropy_softmax(scores, target_entropy) -> tuple[np.ndarray, float]:
    """Move distribution of Algorithm 3 (lines 13-14): ``p = softmax(scores / tau)`` with
    ``tau`` chosen so that ``H(p) = target_entropy`` nats.

    Returns ``(p, beta)`` with ``beta = 1/tau`` (0 when even the uniform distribution has
    entropy <= target; ``inf`` when the tied best scores alone reach the target, and then
    ``p`` is uniform over them).  Computed by :func:`move_weights`, as in the kernel.
    """
    x = np.ascontiguousarray(scores, dtype=np.float64).ravel()
    if x.size == 0 or not np.isfinite(x).all():
        raise ValueError("entropy_softmax: scores must be a non-empty finite vector")
    if not (math.isfinite(target_entropy) and target_entropy >= 0):
        raise ValueError(f"target_entropy must be a finite number >= 0, got {target_entropy!r}")
    target = float(target_entropy)
    log_target = math.log(target) if target > 0 else -math.inf
    m = x.size
    w = np.empty(m)
    Z, _, beta = move_weights(x, m, float(x.max()), target, log_target, 0.0, TIE_TOL, np.empty(m), w)
    return w / Z, float(beta)
