"""Networks with planted modules: the package's ReLU MLP with block-structured weights plus noise,
and how well each similarity measure and clustering method recovers the planted partition.

Partitions.  Every hidden layer's units are split into K modules of near-equal sizes (contiguous:
:func:`contiguous_labels`); so are the input features (input block k) and the classes (class
group k).  A unit has an *upstream* module (what it reads) and a *downstream* module (what it
writes to).  With ``sides="same"`` they coincide; with ``sides="different"`` the downstream
partition is a seeded permutation of the upstream labels (same sizes), so that the two families
of measures (upstream: cov, isens; downstream: osens, hess) can be scored against the side each
one should see.

Weights.  A weight matrix from senders (input features or units of layer l, by their downstream
module; input block k for the features) to receivers (units of layer l + 1 by their upstream
module; class group k for the logits) is ``W = s * B + (1 - s) * N`` for the strength s in [0, 1]:
``B[i, j] = (1 + spread * u_ij) / f_i`` if receiver i and sender j belong to the same module,
else 0, with u_ij uniform in [-1, 1] and f_i the number of senders in i's module (so a unit
averages its module's inputs); N is Gaussian noise with sd ``||B||_F / sqrt(size of W)``, the
same Frobenius norm as B in expectation.  s = 1: exact block structure; s = 0: pure noise, no
modules.  Hidden biases are ``bias`` (small, positive), output biases 0: at s = 1 every weight
and input is non-negative, so every hidden unit is active on every input (inputs in [0, 1],
such as the 8x8 digits).  One generator, ``np.random.default_rng(seed)``, draws u then N for
each matrix from the first layer to the output, so one seed gives the same B and N at every s.

What is recovered at s = 1 (docs/science.md).  ``isens`` and ``osens`` (and their normalized
variants) are exactly block-diagonal in the planted partition (the modules' Jacobians have
disjoint supports), so modularity clustering finds the modules exactly.  ``cov`` also reflects
the correlations between the input blocks (neighbouring pixel rows of digits co-vary), and
``hess`` the softmax coupling of all classes (``-p p^T``); neither is guaranteed to recover them
(both fail for some K on digits), which is what the tests state.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .measures import MEASURES

SIDES = ("same", "different")


def contiguous_labels(n: int, k: int, what: str = "items") -> np.ndarray:
    """Labels 0..k-1 of ``n`` items in k contiguous blocks of near-equal sizes (``np.array_split``)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise ValueError(f"cannot split {n} {what} into {k!r} modules; need an integer 1 <= modules <= {n}")
    return np.repeat(np.arange(k), [len(b) for b in np.array_split(np.arange(n), k)]).astype(np.int64)


def planted_truth(hidden, k: int, *, sides: str = "same", seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """Ground-truth modules per hidden layer: ``{"relus.l": {"upstream": labels, "downstream":
    labels}}`` (the MLP's module names).  Upstream: :func:`contiguous_labels`; downstream: the
    same (``sides="same"``) or a permutation of them by ``np.random.default_rng(stable_seed(seed,
    "planted", "downstream", l))`` (``sides="different"``)."""
    from .seeds import stable_seed

    if sides not in SIDES:
        raise ValueError(f"unknown sides {sides!r}; allowed: {', '.join(SIDES)}")
    truth = {}
    for l, n in enumerate(hidden):
        up = contiguous_labels(int(n), k, f"units of hidden layer {l + 1}")
        down = up if sides == "same" else np.random.default_rng(stable_seed(seed, "planted", "downstream", l)
                                                                ).permutation(up)
        truth[f"relus.{l}"] = {"upstream": up, "downstream": down.copy()}
    return truth


def block_weights(receivers, senders, strength: float, rng: np.random.Generator, spread: float) -> np.ndarray:
    """``s * B + (1 - s) * N`` for receivers' and senders' module labels (see the module docstring)."""
    same = np.asarray(receivers)[:, None] == np.asarray(senders)[None, :]
    u = rng.uniform(-1.0, 1.0, same.shape)
    fan = np.maximum(same.sum(1, keepdims=True), 1)
    B = np.where(same, (1.0 + spread * u) / fan, 0.0)
    N = rng.standard_normal(same.shape) * (np.linalg.norm(B) / math.sqrt(B.size))
    return strength * B + (1.0 - strength) * N


def planted_mlp(in_dim: int, n_classes: int, hidden, k: int, strength: float, seed: int = 0, *,
                sides: str = "same", bias: float = 0.01, spread: float = 0.5):
    """``(model, truth)``: the package's MLP (in eval mode) with K planted modules per hidden layer
    at ``strength`` s in [0, 1] (module docstring), and :func:`planted_truth` of it."""
    from .models import model_from_hparams

    if not 0.0 <= float(strength) <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength!r}")
    if not 0.0 <= float(spread) < 1.0:
        raise ValueError(f"spread must be in [0, 1) so that block weights stay positive, got {spread!r}")
    hidden = [int(h) for h in hidden]
    if not hidden:
        raise ValueError("a planted MLP needs at least one hidden layer")
    model = model_from_hparams({"type": "mlp", "in_dim": int(in_dim), "hidden": hidden, "out_dim": int(n_classes),
                                "dropout": 0.0})
    truth = planted_truth(hidden, k, sides=sides, seed=seed)
    layers = list(truth.values())
    senders = [contiguous_labels(int(in_dim), k, "input features")] + [t["downstream"] for t in layers]
    receivers = [t["upstream"] for t in layers] + [contiguous_labels(int(n_classes), k, "classes")]
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for i, (lin, r, s) in enumerate(zip(model.linears, receivers, senders)):
            lin.weight.copy_(torch.as_tensor(block_weights(r, s, float(strength), rng, float(spread))))
            lin.bias.fill_(float(bias) if i < len(hidden) else 0.0)
    return model.eval(), truth


def recovery(model, x, truth: dict, *, methods=("paper",), seed: int = 0, strength: float = math.nan,
             measures=MEASURES, similarity: dict | None = None, clustering: dict | None = None) -> list[dict]:
    """Recovery of the planted partitions ``truth`` (:func:`planted_truth`) by each measure and
    clustering method.

    The similarity matrices of the layers of ``truth`` on inputs ``x`` come from
    :func:`unitclust.similarity.compute_similarity` (keyword arguments ``similarity``), each is
    clustered by :func:`unitclust.clustering.cluster.cluster_matrix` with every method of
    ``methods`` (keyword arguments ``clustering``, seed ``stable_seed(seed, "planted", layer,
    measure, method)``) and compared with the truth by element-centric similarity and NMI
    (:func:`unitclust.compare.agreement`; unused units are singletons).  One row per (layer,
    measure, method, side): ``side`` is ``both`` when the upstream and downstream partitions are
    equal, else ``upstream`` and ``downstream``.
    """
    from .clustering.cluster import cluster_matrix
    from .compare import agreement
    from .measures import FAMILY
    from .seeds import stable_seed
    from .similarity import compute_similarity

    modules = list(truth)
    mats = compute_similarity(model, x, layers=modules, **(similarity or {}))
    rows = []
    for li, (module, by_measure) in enumerate(zip(modules, mats), start=1):
        t = truth[module]
        same = np.array_equal(t["upstream"], t["downstream"])
        sides = {"both": t["upstream"]} if same else {"upstream": t["upstream"], "downstream": t["downstream"]}
        for measure in measures:
            for method in methods:
                res = cluster_matrix(by_measure[measure], seed=stable_seed(seed, "planted", f"layer{li}", measure,
                                                                           method),
                                     method=method, name=f"planted layer{li}/{measure}", **(clustering or {}))
                found = len(np.unique(res.labels[res.labels >= 0]))
                for side, labels in sides.items():
                    rows.append({"strength": float(strength), "seed": int(seed), "layer": f"layer{li}",
                                 "module": module, "measure": measure, "family": FAMILY[measure], "method": method,
                                 "side": side, "element_sim": agreement(res.labels, labels),
                                 "nmi": agreement(res.labels, labels, "nmi"), "n_clusters_found": found,
                                 "n_planted": len(np.unique(labels)), "q": res.q})
    return rows


def recovery_sweep(x, *, n_classes: int, hidden, k: int, strengths, seeds, sides: str = "same",
                   methods=("paper",), bias: float = 0.01, spread: float = 0.5, **kwargs) -> list[dict]:
    """:func:`recovery` rows of :func:`planted_mlp` for every strength and seed on inputs ``x``
    (keyword arguments of :func:`recovery` in ``kwargs``), each row with ``k`` and ``sides``."""
    rows = []
    for seed in seeds:
        for s in strengths:
            model, truth = planted_mlp(x.shape[1], n_classes, hidden, k, s, seed, sides=sides, bias=bias,
                                       spread=spread)
            rows += [{**r, "k": int(k), "sides": sides}
                     for r in recovery(model, x, truth, methods=methods, seed=seed, strength=s, **kwargs)]
    return rows
