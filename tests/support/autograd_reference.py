"""Slow, obviously correct per-input, per-unit autograd reference for the similarity measures.

Every base term (docs/science.md §3) of every sample is computed on a float64 copy of the network
in eval mode with plain ``torch.autograd`` loops: one ``grad`` call per unit (isens) and per logit
(osens), the Hessian from ``torch.autograd.functional.hessian`` of the real cross-entropy loss
*with* the true label, the covariance with numpy.  A layer's activity is read and replaced by a
forward hook of its own (independent of the code under test).  Spatial layers use the positions
``unitclust.similarity.generic.sampled_positions`` picks, one sample per (input, position).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F

from unitclust.measures import BASE_MEASURES
from unitclust.similarity.generic import sampled_positions


def _run(model, name, x, replace=None):
    """(logits, activity of module ``name``) with that activity replaced by ``replace`` if given."""
    seen = {}

    def hook(_m, _i, out):
        seen["h"] = out if replace is None else replace
        return seen["h"]

    handle = model.get_submodule(name).register_forward_hook(hook)
    try:
        return model(x), seen["h"]
    finally:
        handle.remove()


def reference_terms(model, x, labels, layers, max_positions=32, seed=0):
    """Per-sample base terms: one dict per layer mapping each base measure to an array (N, C, C),
    N = K * P samples ordered by input, then position."""
    m = copy.deepcopy(model).double().eval()
    x = x.double()
    out = []
    for name in layers:
        with torch.no_grad():
            h_all = _run(m, name, x)[1]
        K, C = h_all.shape[:2]
        Q = h_all[0, 0].numel()
        pos = sampled_positions(Q, range(K), max_positions, seed)
        H = h_all.reshape(K, C, Q).numpy()
        samples = np.stack([H[k][:, pos[k]].T for k in range(K)]).reshape(-1, C)
        c = samples - samples.mean(axis=0)
        terms = {"cov": np.einsum("si,sj->sij", c, c), "isens": [], "osens": [], "hess": []}
        for k in range(K):
            xk = x[k:k + 1].clone().requires_grad_(True)
            h = _run(m, name, xk)[1].reshape(C, Q)
            for p in pos[k]:
                J = torch.stack([torch.autograd.grad(h[i, p], xk, retain_graph=True)[0].flatten() for i in range(C)])
                terms["isens"].append((J @ J.T).numpy())
                h0 = h.detach().clone()

                def logits_at(hp, p=p, h0=h0):  # logits with h[:, p] = hp, the rest of h fixed
                    hh = h0.clone()
                    hh[:, p] = hp
                    return _run(m, name, x[k:k + 1], hh.reshape(1, *h_all.shape[1:]))[0][0]

                hp = h0[:, p].clone().requires_grad_(True)
                y = logits_at(hp)
                Jy = torch.stack([torch.autograd.grad(y[a], hp, retain_graph=True)[0] for a in range(y.shape[0])])
                terms["osens"].append((Jy.T @ Jy).numpy())
                lab = labels[k:k + 1]
                Hs = torch.autograd.functional.hessian(lambda v: F.cross_entropy(logits_at(v)[None], lab), h0[:, p])
                terms["hess"].append(Hs.numpy())
        for b in ("isens", "osens", "hess"):
            terms[b] = np.stack(terms[b])
        out.append(terms)
    return out


def reference_per_input(model, x, labels):
    """Per-input base terms (K, n, n) of every hidden layer of a unitclust MLP."""
    return reference_terms(model, x, labels, model.hidden_layers)


def reduce_reference(per_sample_terms, abs_placement):
    """The base matrices: |mean| (averaged) or mean |.| (per_input) of the per-sample terms."""
    if abs_placement == "averaged":
        return [{b: np.abs(layer[b].mean(0)) for b in BASE_MEASURES} for layer in per_sample_terms]
    return [{b: np.abs(layer[b]).mean(0) for b in BASE_MEASURES} for layer in per_sample_terms]
