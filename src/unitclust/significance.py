"""Null models for Q* (docs/science.md §4, "Null models"): shuffled-weight networks, and the
z-score and percentile of a network's Q* among its nulls."""

from __future__ import annotations

import copy

import numpy as np


def shuffled_weights(model, seed: int):
    """A copy of ``model`` whose every weight matrix (``model.weight_matrices()``: linear and conv
    weights, else those of its ``nn.Linear`` / ``nn.Conv*`` modules) has its entries permuted
    uniformly at random; biases unchanged.  Each matrix gets its own permutation from
    ``numpy.random.default_rng(seed)``, in that order."""
    import torch

    null = copy.deepcopy(model)
    rng = np.random.default_rng(seed)
    if hasattr(null, "weight_matrices"):
        weights = null.weight_matrices()
    else:
        kinds = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)
        weights = [m.weight for m in null.modules() if isinstance(m, kinds)]
    with torch.no_grad():
        for w in weights:
            perm = torch.as_tensor(rng.permutation(w.numel()), device=w.device)
            w.copy_(w.reshape(-1)[perm].reshape(w.shape))
    return null


def null_summary(q: float, null_q) -> dict[str, float]:
    """Mean and standard deviation (ddof 1) of the null Q*s, ``z = (q - mean) / sd`` and the
    percentile of ``q`` among them (``100 * (#null < q + #null == q / 2) / n``; ties count half).
    NaN where undefined (no finite nulls, sd 0 for z, NaN q)."""
    null = np.asarray(null_q, dtype=np.float64)
    null = null[np.isfinite(null)]
    if len(null) == 0 or not np.isfinite(q):
        return {"null_mean": np.nan, "null_sd": np.nan, "z": np.nan, "percentile": np.nan}
    mean = float(null.mean())
    sd = float(null.std(ddof=1)) if len(null) > 1 else np.nan
    z = (q - mean) / sd if np.isfinite(sd) and sd > 0 else np.nan
    percentile = 100.0 * (np.sum(null < q) + 0.5 * np.sum(null == q)) / len(null)
    return {"null_mean": mean, "null_sd": sd, "z": float(z), "percentile": float(percentile)}


def null_modularity(model, x, n_null: int, *, model_id: str, seed: int = 0, similarity: dict | None = None,
                    clustering: dict | None = None, y=None, layers=None) -> dict[tuple[str, str], np.ndarray]:
    """Q* of ``n_null`` shuffled-weight copies of ``model`` for every hidden layer and measure:
    ``{("layerL", measure): array of n_null Q*}``.  Null k is :func:`shuffled_weights` seeded by
    ``stable_seed(seed, model_id, "null", k)``; its similarity matrices are computed by
    :func:`unitclust.similarity.compute_similarity` (labels ``y``, ``layers``, default the model's
    ``hidden_layers``) with the keyword arguments ``similarity`` and clustered with ``clustering``
    (as the model's own), each matrix seeded by ``stable_seed(seed, model_id, "null", k, layer, measure)``."""
    from .clustering.cluster import cluster_matrix
    from .measures import MEASURES
    from .seeds import stable_seed
    from .similarity import compute_similarity

    names = list(layers if layers is not None else model.hidden_layers)
    q = {(f"layer{li}", m): np.full(n_null, np.nan) for li in range(1, len(names) + 1) for m in MEASURES}
    for k in range(n_null):
        null = shuffled_weights(model, stable_seed(seed, model_id, "null", k))
        for li, mats in enumerate(compute_similarity(null, x, y, layers=names, **(similarity or {})), start=1):
            for m in MEASURES:
                r = cluster_matrix(mats[m], seed=stable_seed(seed, model_id, "null", k, f"layer{li}", m),
                                   name=f"null {k} of {model_id}: layer{li}/{m}", **(clustering or {}))
                q[f"layer{li}", m][k] = r.q
    return q
