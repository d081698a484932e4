"""Lesion tests of clusters: silence a cluster's units and measure the test accuracy, against
size-matched random groups of the same layer.

A layer's units are the entries of a dense output (B, n) or the channels of a spatial one
(B, C, *spatial), as for the similarity measures.  Silencing sets a unit's output to 0
(``mode="zero"``) or to its mean over the inputs x (``mode="mean"``; for a spatial output the mean
map over inputs, per channel and position), read by a forward hook on the layer.

Batched: the hook replaces the layer's output for a batch of B inputs by the (g*B)-batch that
stacks g masked copies of it, one per unit group (``out * keep + fill * (1 - keep)``, exact for
finite activations), so the part of the network before the layer runs once per (input batch,
chunk of g groups) and all groups share a few forward passes.  The stacked output holds at most
``max_elements`` values: B is made small enough that every group fits in one pass (g = G) where
possible, so the upstream part runs once per input.  This needs the computation after the layer
to treat dim 0 as independent samples (no batch statistics, no reshape by a batch size fixed
before the layer), which holds for the package's MLP and CNN in eval mode and for the usual torch
classifiers; the number of logits returned and the number of calls of the layer per pass are
checked.  The mean of ``mode="mean"`` is accumulated in float64 over all of x in the intact pass.

Statistics of a cluster (:func:`lesion_statistics`): the accuracy drop (intact - lesioned), the
per-class drops, and their *specificity*, the standard deviation across classes (ddof 0) of the
per-class drops: 0 when every class loses the same, larger when the damage concentrates on few
classes; it is in accuracy units, unchanged by a drop common to all classes, and uses every class
(less noisy than the largest drop alone).  Each is compared with ``n_random`` random groups of the
same size drawn uniformly from the layer's units that the clustering uses (label >= 0; units it
marks unused are dead or inactive, and drawing them would make random groups look harmless):
random mean and sd (ddof 1), z = (cluster - mean) / sd (NaN when sd is 0) and the one-sided Monte
Carlo p-value (1 + #{random >= cluster}) / (1 + n_random), exact for a test against random draws
(Phipson & Smyth 2010).
"""

from __future__ import annotations

import math
import warnings
from contextlib import contextmanager

import numpy as np
import torch

MODES = ("zero", "mean")
MAX_ELEMENTS = 2**21  # values of the stacked layer output of one forward pass (8 MiB in float32)


def _module(model, layer: str):
    names = [n for n, _ in model.named_modules() if n]
    if layer not in names:
        raise ValueError(f"the model has no layer {layer!r}; its submodules are: "
                         f"{', '.join(names[:60])}{' ...' if len(names) > 60 else ''}")
    return model.get_submodule(layer)


@contextmanager
def _evaluating(model):
    """``model`` in eval mode inside the block; its training flag restored after."""
    training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(training)


def _check_groups(groups, n: int, layer: str) -> list[np.ndarray]:
    out = []
    for i, g in enumerate(groups):
        g = np.asarray(g)
        if g.ndim != 1 or g.size == 0:
            raise ValueError(f"unit group {i} of layer {layer!r} is empty or not a 1-d array of unit indices "
                             f"(shape {g.shape})")
        if not np.issubdtype(g.dtype, np.integer):
            raise ValueError(f"unit group {i} of layer {layer!r} holds {g.dtype} values, not integer unit indices")
        bad = g[(g < 0) | (g >= n)]
        if bad.size:
            raise ValueError(f"unit group {i} of layer {layer!r} names unit {int(bad[0])}, out of range: the "
                             f"layer has {n} units (0..{n - 1})")
        if len(np.unique(g)) != len(g):
            raise ValueError(f"unit group {i} of layer {layer!r} names a unit twice: {g.tolist()}")
        out.append(g.astype(np.int64))
    return out


class _Stacker:
    """Forward hook on the lesioned layer: records calls and shapes, sums the output (for the mean),
    and while ``mask`` (g, n) is set returns g masked copies of the output stacked along dim 0."""

    def __init__(self):
        self.calls, self.shape, self.total, self.mask, self.fill, self.zero = 0, None, None, None, None, False

    def __call__(self, _module, _inputs, out):
        self.calls += 1
        if not torch.is_tensor(out) or out.ndim < 2:
            raise ValueError(f"the lesioned layer must output a tensor (B, units, ...), got "
                             f"{getattr(out, 'shape', type(out).__name__)}")
        self.shape = tuple(out.shape)
        if self.mask is None:
            s = out.detach().to(torch.float64).sum(0)
            self.total = s if self.total is None else self.total + s
            return None
        # out * 1 + 0 = out and out * 0 + fill = fill exactly, for finite activations
        silenced = self.mask.reshape(self.mask.shape[0], 1, self.mask.shape[1], *([1] * (out.ndim - 2))).to(out.dtype)
        if self.zero:
            stacked = out.unsqueeze(0) * (1 - silenced)
        else:
            stacked = torch.addcmul(silenced * self.fill.to(out.dtype), out.unsqueeze(0), 1 - silenced)
        return stacked.reshape(-1, *out.shape[1:])


def _counts(logits: torch.Tensor, y: torch.Tensor, g: int, n_classes: int) -> torch.Tensor:
    """(g, n_classes) int64: correct predictions per group and class of g stacked copies of the batch."""
    if logits.ndim != 2 or logits.shape[0] != g * len(y):
        raise ValueError(f"the model returned logits of shape {tuple(logits.shape)} for {g} stacked copies of "
                         f"{len(y)} inputs; lesion tests need logits (copies * inputs, classes), i.e. a "
                         "computation after the layer that is per-sample along dim 0")
    correct = (logits.argmax(1).reshape(g, len(y)) == y[None, :]).to(torch.int64)
    out = torch.zeros(g, n_classes, dtype=torch.int64, device=logits.device)
    return out.index_add_(1, y, correct)


def lesion_accuracies(model, layer: str, x, y, groups, *, mode: str = "zero", batch_size: int = 1000,
                      max_elements: int = MAX_ELEMENTS) -> dict:
    """Test accuracy and per-class accuracy of ``model`` on ``(x, y)`` with each unit group of
    ``layer`` (a module name) silenced, and of the intact model.

    ``groups``: list of int arrays of unit indices (dim 1 of the layer's output).  Returns
    ``{"acc": (G,), "class_acc": (G, C), "intact_acc": float, "intact_class_acc": (C,),
    "n_per_class": (C,), "fill": the silencing values (units, ...)}``; C is the number of logits, a
    class without inputs has NaN accuracy.  Eval mode, no gradients; the training flag is restored.
    """
    if mode not in MODES:
        raise ValueError(f"unknown lesion mode {mode!r}; allowed: {', '.join(MODES)}")
    for name, v in (("batch_size", batch_size), ("max_elements", max_elements)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if not torch.is_tensor(x) or x.ndim < 2 or len(x) == 0:
        raise ValueError(f"x must be a non-empty tensor (K, ...), got {getattr(x, 'shape', type(x).__name__)}")
    y = torch.as_tensor(y, device=x.device).reshape(-1)
    if len(y) != len(x) or y.dtype.is_floating_point or y.dtype == torch.bool:
        raise ValueError(f"y must hold K = {len(x)} integer labels, got {tuple(y.shape)} {y.dtype}")
    y = y.to(torch.int64)
    hook = _Stacker()
    handle = _module(model, layer).register_forward_hook(hook)
    try:
        with torch.no_grad(), _evaluating(model):
            correct, n_classes = None, None
            for s in range(0, len(x), batch_size):  # intact pass: accuracy and the mean output
                hook.calls = 0
                logits = model(x[s:s + batch_size])
                if hook.calls != 1:
                    raise ValueError(f"layer {layer!r} runs {hook.calls} times per forward pass; name a module "
                                     "that runs exactly once")
                n_classes = n_classes or int(logits.shape[1])
                c = _counts(logits, y[s:s + batch_size], 1, n_classes)[0]
                correct = c if correct is None else correct + c
            if int(y.min()) < 0 or int(y.max()) >= n_classes:
                raise ValueError(f"labels y must lie in 0..{n_classes - 1} (the model has {n_classes} logits)")
            unit_shape = hook.shape[1:]
            groups = _check_groups(groups, unit_shape[0], layer)
            hook.zero = mode == "zero"
            hook.fill = hook.total / len(x) if mode == "mean" else torch.zeros_like(hook.total)
            masks = torch.zeros(len(groups), unit_shape[0], dtype=torch.bool, device=x.device)
            for i, g in enumerate(groups):
                masks[i, torch.as_tensor(g, device=x.device)] = True
            per_input = math.prod(unit_shape)
            B = max(1, min(len(x), batch_size, max_elements // (per_input * max(1, len(groups)))))
            step = max(1, min(len(groups), max_elements // (B * per_input)))
            lesioned = torch.zeros(len(groups), n_classes, dtype=torch.int64, device=x.device)
            for s in range(0, len(x), B):
                yb = y[s:s + B]
                for g0 in range(0, len(groups), step):
                    hook.mask = masks[g0:g0 + step]
                    lesioned[g0:g0 + step] += _counts(model(x[s:s + B]), yb, len(hook.mask), n_classes)
    finally:
        hook.mask = None
        handle.remove()
    n_per_class = torch.bincount(y, minlength=n_classes).cpu().numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        class_acc = lesioned.cpu().numpy() / n_per_class[None, :]
        intact_class = correct.cpu().numpy() / n_per_class
    return {"acc": lesioned.sum(1).cpu().numpy() / len(x), "class_acc": class_acc,
            "intact_acc": float(correct.sum()) / len(x), "intact_class_acc": intact_class,
            "n_per_class": n_per_class, "fill": hook.fill.cpu().numpy()}


def permutation_summary(observed: float, null) -> dict[str, float]:
    """Mean, sd (ddof 1), ``z = (observed - mean) / sd`` and the one-sided p-value
    ``(1 + #{null >= observed}) / (1 + n)`` of ``observed`` among the ``n`` random values ``null``
    (ties within 1e-12 relative count as at least as large).  NaN where undefined: no random values
    (all four), fewer than two (sd, z), sd 0 to 1e-12 relative (z), a NaN observation (z, p)."""
    null = np.asarray(null, dtype=np.float64).reshape(-1)
    if len(null) == 0:
        return {"random_mean": np.nan, "random_sd": np.nan, "z": np.nan, "p": np.nan}
    mean = float(null.mean())
    sd = float(null.std(ddof=1)) if len(null) > 1 else np.nan
    if not np.isfinite(observed):
        return {"random_mean": mean, "random_sd": sd, "z": np.nan, "p": np.nan}
    tol = 1e-12 * max(1.0, abs(observed))
    z = (observed - mean) / sd if np.isfinite(sd) and sd > 1e-12 * max(1.0, abs(mean)) else np.nan
    p = (1 + int(np.sum(null >= observed - tol))) / (1 + len(null))
    return {"random_mean": mean, "random_sd": sd, "z": float(z), "p": float(p)}


def specificity(class_drop) -> np.ndarray:
    """Standard deviation (ddof 0) across classes of per-class accuracy drops (last axis; classes
    without inputs, NaN, are left out)."""
    class_drop = np.asarray(class_drop, dtype=np.float64)
    with warnings.catch_warnings():  # all-NaN rows (no class has inputs) give NaN silently
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanstd(class_drop, axis=-1)


def lesion_statistics(intact_acc: float, intact_class_acc, acc: float, class_acc, random_acc,
                      random_class_acc) -> dict:
    """Effect of lesioning one cluster against random groups of its size, from accuracies.

    ``intact_class_acc``, ``class_acc``: (C,); ``random_acc``: (R,); ``random_class_acc``: (R, C).
    Returns the drop ``intact_acc - acc``, ``class_drop`` (C,), ``spec`` (:func:`specificity` of
    ``class_drop``) and for ``drop`` and ``spec`` the random mean, sd, z and p of
    :func:`permutation_summary` (keys ``drop_random_mean`` ... ``spec_p``)."""
    intact_class_acc = np.asarray(intact_class_acc, dtype=np.float64)
    class_drop = intact_class_acc - np.asarray(class_acc, dtype=np.float64)
    random_drop = intact_acc - np.asarray(random_acc, dtype=np.float64).reshape(-1)
    random_class_drop = intact_class_acc[None, :] - np.asarray(random_class_acc, dtype=np.float64).reshape(
        len(random_drop), len(intact_class_acc))
    out = {}
    for key, value, null in (("drop", float(intact_acc - acc), random_drop),
                             ("spec", float(specificity(class_drop)), specificity(random_class_drop))):
        out[key] = value
        out.update({f"{key}_{k}": v for k, v in permutation_summary(value, null).items()})
    return {**out, "class_drop": class_drop}


def random_groups(pool, size: int, n_random: int, seed: int) -> np.ndarray:
    """(n_random, size) int64: independent uniformly random ``size``-subsets of the units ``pool``,
    each sorted, drawn from ``np.random.default_rng(seed)``."""
    pool = np.asarray(pool, dtype=np.int64)
    if not 1 <= size <= len(pool):
        raise ValueError(f"cannot draw random groups of {size} units from a pool of {len(pool)}")
    keys = np.random.default_rng(seed).random((n_random, len(pool)))
    return np.sort(pool[np.argsort(keys, axis=1)[:, :size]], axis=1)


def lesion_tests(model, labels: dict, x, y, *, mode: str = "zero", n_random: int = 50, seed: int = 0,
                 model_id: str = "", names: dict | None = None, batch_size: int = 1000,
                 max_elements: int = MAX_ELEMENTS) -> tuple[list[dict], dict]:
    """Lesion every cluster of every layer and measure, and its random control groups.

    ``labels``: ``{module name: {measure: cluster labels (units,), -1 unused}}``; ``names`` maps a
    module name to the layer name recorded (default the module name).  For a layer and measure the
    pool is the units with label >= 0 and the controls of a cluster of size k are
    :func:`random_groups` of the pool seeded by ``stable_seed(seed, model_id, "lesion", layer, k)``:
    the same draws for every cluster of that size (fewer forward passes) and, for measures with the
    same pool, the same random groups; independent of the order of the clusters.  Identical unit
    groups (a cluster found by several measures, a random group drawn twice) are lesioned once.

    Returns ``(rows, raw)``: one tidy row per (layer, measure, cluster >= 0) with ``layer, measure,
    cluster, size, mode, n_random, intact_acc, acc`` and the keys of :func:`lesion_statistics`
    (``class_drop`` as a list); ``raw[layer]`` holds the distinct groups (``units``, (G, max size),
    padded with -1, and ``sizes``), their ``acc`` (G,) and ``class_acc`` (G, C), the intact
    accuracies and, per measure, the cluster labels tested (``clusters``), the group of each
    (``cluster_group``) and of its random controls (``random_group``, (clusters, n_random))."""
    from .external import layer_widths
    from .seeds import stable_seed

    if isinstance(n_random, bool) or not isinstance(n_random, (int, np.integer)) or n_random < 0:
        raise ValueError(f"n_random must be a non-negative integer, got {n_random!r}")
    rows, raw = [], {}
    for module, by_measure in labels.items():
        name = (names or {}).get(module, module)
        _module(model, module)
        with _evaluating(model):
            n_units = layer_widths(model, [module], x[:1])[0]
        groups, index, plan = [], {}, []

        def add(units):
            key = tuple(int(u) for u in units)
            if key not in index:
                index[key] = len(groups)
                groups.append(np.asarray(key, dtype=np.int64))
            return index[key]

        for measure, lab in by_measure.items():
            lab = np.asarray(lab).reshape(-1)
            if len(lab) != n_units or not np.issubdtype(lab.dtype, np.integer):
                raise ValueError(f"labels of layer {name!r}, measure {measure!r}: {len(lab)} {lab.dtype} values, "
                                 f"expected {n_units} integer labels (the layer's units)")
            pool, controls = np.flatnonzero(lab >= 0), {}
            for c in np.unique(lab[lab >= 0]):
                units = np.flatnonzero(lab == c)
                if len(units) not in controls:
                    draw = random_groups(pool, len(units), n_random, stable_seed(seed, model_id, "lesion", name,
                                                                                  len(units)))
                    controls[len(units)] = np.array([add(r) for r in draw], dtype=np.int64)
                plan.append((measure, int(c), add(units), controls[len(units)]))
        res = lesion_accuracies(model, module, x, y, groups, mode=mode, batch_size=batch_size,
                                max_elements=max_elements)
        for measure, c, gi, ri in plan:
            st = lesion_statistics(res["intact_acc"], res["intact_class_acc"], res["acc"][gi], res["class_acc"][gi],
                                   res["acc"][ri], res["class_acc"][ri])
            rows.append({"layer": name, "measure": measure, "cluster": c, "size": len(groups[gi]), "mode": mode,
                         "n_random": int(n_random), "intact_acc": res["intact_acc"], "acc": float(res["acc"][gi]),
                         **{k: v for k, v in st.items() if k != "class_drop"},
                         "class_drop": st["class_drop"].tolist()})
        sizes = np.array([len(g) for g in groups], dtype=np.int64)
        units = np.full((len(groups), int(sizes.max(initial=0))), -1, dtype=np.int64)
        for i, g in enumerate(groups):
            units[i, :len(g)] = g
        per = {m: [p for p in plan if p[0] == m] for m in by_measure}
        raw[name] = {"module": module, "mode": mode, "units": units, "sizes": sizes, "acc": res["acc"],
                     "class_acc": res["class_acc"], "intact_acc": res["intact_acc"],
                     "intact_class_acc": res["intact_class_acc"], "n_per_class": res["n_per_class"],
                     "measures": {m: {"clusters": np.array([p[1] for p in ps], dtype=np.int64),
                                      "cluster_group": np.array([p[2] for p in ps], dtype=np.int64),
                                      "random_group": np.array([p[3] for p in ps], dtype=np.int64).reshape(
                                          len(ps), n_random)}
                                  for m, ps in per.items()}}
    return rows, raw
