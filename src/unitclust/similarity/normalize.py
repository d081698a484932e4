"""Options of the similarity measures and the normalized variants (paper eq. 5)."""

from __future__ import annotations

import numpy as np

ABS_PLACEMENTS = ("averaged", "per_input")
NORMALIZATIONS = ("max", "sqrt")


def check_option(name: str, value, allowed: tuple[str, ...]) -> None:
    """ValueError naming ``name`` unless ``value`` is one of ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; expected one of {', '.join(map(repr, allowed))}")


def check_eps(eps) -> float:
    """``eps`` as a float; ValueError unless it is positive and finite."""
    try:
        eps = float(eps)
    except (TypeError, ValueError):
        raise ValueError(f"eps must be a positive number, got {eps!r}") from None
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive finite number, got {eps!r}")
    return eps


def normalize(S: np.ndarray, method: str = "max", eps: float = 1e-12) -> np.ndarray:
    """Normalized similarity (paper eq. 5).

    ``method="max"`` (default, eq. 5): ``S'_ij = S_ij / max(S_ii, S_jj, eps)``.
    ``method="sqrt"`` (the authors' released code): ``S'_ij = S_ij / max(sqrt(S_ii S_jj), eps)``.

    ``S`` must be a square matrix with a non-negative diagonal (all base
    similarity matrices are).  For a non-negative matrix with
    ``S_ij <= sqrt(S_ii S_jj)`` (true for all four base measures) the result lies
    in [0, 1] with a unit diagonal for every unit with ``S_ii > eps``; a unit with a
    zero row stays zero.  Returns a new float64 array.
    """
    check_option("normalization method", method, NORMALIZATIONS)
    eps = check_eps(eps)
    S = np.asarray(S, dtype=np.float64)
    if S.ndim != 2 or S.shape[0] != S.shape[1]:
        raise ValueError(f"S must be a square matrix, got shape {S.shape}")
    d = np.diag(S)
    if np.any(d < 0) or not np.all(np.isfinite(d)):
        raise ValueError("S must have a finite, non-negative diagonal")
    if method == "max":
        denom = np.maximum(np.maximum.outer(d, d), eps)
    else:
        denom = np.maximum(np.sqrt(np.outer(d, d)), eps)
    return S / denom
