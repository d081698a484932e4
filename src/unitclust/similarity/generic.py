"""The eight similarity matrices of any torch classifier by automatic differentiation (eqs. 1-5).

A layer's activity h is the output of a named module of a float64 copy of the model in eval mode,
read by a forward hook; ``y = F(x; h)`` is the model with that output replaced by h (the module is
not run).  Units: the entries of a dense activity (B, n), the channels of a spatial one
(B, C, *spatial), where each (input, sampled position p) is one sample with per-sample terms
``(h - hbar)(h - hbar)^T`` (eq. 1), ``J J^T`` with ``J = dh[:, p]/dx`` (eq. 2), ``J^T J`` with
``J = dy/dh[:, p]`` (eq. 3) and the block ``d2L/dh[:, p]^2`` of the cross-entropy (eq. 4), all from
``torch.func`` vjps / jvps over one-hot (co)tangents, batched over inputs.  Exact shortcuts:

* linear stem: if the first module is an ``nn.Linear`` reading x with fewer outputs than inputs
  and h depends on x only through its output z (checked per batch), ``J J^T = (dh/dz) R^T R
  (dh/dz)^T`` with ``W W^T = R^T R``;
* spatial layers: the inputs each sampled position depends on (support of a random mix of its
  channels' gradients, one vjp per position) are coloured so that no two in one support share a
  colour; one jvp per colour then gives every entry of J (Curtis-Powell-Reid compression);
* piecewise-linear tail: if the curvature ``d/dh (J^T g) . v`` is exactly zero for random g, v
  (checked per layer and batch), ``d2L/dh2 = V^T V``, ``V = diag(sqrt p)(I - 1 p^T) J``,
  ``p = softmax(y)``; otherwise Hessian-vector products with the true labels.

Supports and the curvature check hold with probability one (random combinations).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import jvp, vjp, vmap

from ..measures import BASE_MEASURES, MEASURES
from .closed_form import _fast_dtype as closed_form_fast
from .normalize import ABS_PLACEMENTS, NORMALIZATIONS, check_eps, check_option, normalize

_BUDGET = 2**25  # elements the tensors of one batched (co)tangent pass may hold (256 MiB in float64)
_GOLDEN = 0x9E3779B97F4A7C15


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer, elementwise on uint64."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def sampled_positions(n_positions: int, indices, max_positions: int, seed: int = 0) -> np.ndarray:
    """Flat spatial positions sampled per input: array (len(indices), min(max_positions, n_positions)).

    Row i is a uniformly random subset (ascending) of ``range(n_positions)`` that depends only on
    ``(seed, indices[i], n_positions)``; every position when ``n_positions <= max_positions``."""
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    m = min(int(max_positions), int(n_positions))
    if m == n_positions:
        return np.broadcast_to(np.arange(n_positions, dtype=np.int64), (len(idx), m)).copy()
    with np.errstate(over="ignore"):
        base = _mix(np.array([int(seed) % 2**64], np.uint64) ^ _mix(np.array([n_positions], np.uint64)))
        row = _mix(base ^ _mix(idx.astype(np.uint64) + np.uint64(_GOLDEN)))
        keys = _mix(row[:, None] + np.arange(n_positions, dtype=np.uint64)[None, :] * np.uint64(_GOLDEN))
    return np.sort(np.argsort(keys, axis=1, kind="stable")[:, :m], axis=1)


class _Hooked:
    """Forward hooks on the named modules of ``model``: read their outputs, optionally replace them."""

    def __init__(self, model: nn.Module, names):
        self.model, self.replace, self.out, self.calls, self.handles = model, {}, {}, {}, []
        for name in names:
            self.watch(name)

    def watch(self, name):
        def hook(_module, _inputs, output):
            self.out[name] = output = self.replace.get(name, output)
            self.calls[name] = self.calls.get(name, 0) + 1
            return output
        self.handles.append(self.model.get_submodule(name).register_forward_hook(hook))

    def __call__(self, x, replace=None):
        """(logits, {name: output}) of one forward pass; a module named in ``replace`` is not run,
        its output is the given tensor."""
        self.replace, self.out = dict(replace or {}), {}
        mods = [self.model.get_submodule(n) for n in self.replace]
        for mod, r in zip(mods, self.replace.values()):
            mod.forward = lambda *_a, _r=r, **_k: _r
        try:
            return self.model(x), self.out
        finally:
            self.replace = {}
            for mod in mods:
                del mod.forward

    def remove(self):
        [h.remove() for h in self.handles]


def _flat(h: torch.Tensor) -> torch.Tensor:  # (B, C, *spatial) -> (B, C, Q); (B, n) -> (B, n, 1)
    return h.reshape(h.shape[0], h.shape[1], -1)


def _gather(t: torch.Tensor, pos: torch.Tensor | None) -> torch.Tensor:
    """t (..., b, C, Q) at the positions pos (b, P) of each input -> (..., b, C, P); None: all."""
    return t if pos is None else torch.gather(t, -1, pos[:, None, :].expand(*t.shape[:-1], pos.shape[1]))


def _one_hots(pos: torch.Tensor | None, b: int, C: int, Q: int, like: torch.Tensor, values=None) -> torch.Tensor:
    """(C*P, b, C, Q): entry (c, j) is one at [k, c, pos[k, j]] for every input k.  With ``values``
    (P, b, C): (P, b, C, Q), entry j holds values[j, k] at [k, :, pos[k, j]]."""
    pos = torch.arange(Q, device=like.device).expand(b, Q) if pos is None else pos
    P, j, k = pos.shape[1], torch.arange(pos.shape[1], device=like.device)[:, None], torch.arange(b, device=like.device)
    if values is not None:
        out = torch.zeros(P, b, C, Q, dtype=like.dtype, device=like.device)
        out[j, k, :, pos.T] = values
        return out
    out, c = torch.zeros(C, P, b, C, Q, dtype=like.dtype, device=like.device), torch.arange(C, device=like.device)
    out[c[:, None, None], j, k, c[:, None, None], pos.T[None]] = 1
    return out.reshape(C * P, b, C, Q)


def _add_gram(acc: torch.Tensor, E: torch.Tensor, per_input: bool, c_first: bool = False) -> None:
    """acc += sum_s E_s^T E_s over the samples s of the factors E (r, N, C), E_s = E[:, s] (r x C), or
    of E (C, N, r) if ``c_first`` (|.| of each term first if per_input); in E's dtype, in blocks of
    about 2**19 elements summed in float64."""
    C = E.shape[0] if c_first else E.shape[-1]
    if not per_input:
        M = E.reshape(C, -1) if c_first else E.reshape(-1, C).T
        step = M.shape[1] if M.dtype == acc.dtype else max(1, 2**19 // C)
        for s in range(0, M.shape[1], step):
            acc += (M[:, s:s + step] @ M[:, s:s + step].T).to(acc.dtype)
        return
    E = E.reshape(C, -1, E.shape[-1]).transpose(0, 1) if c_first else E.reshape(E.shape[0], -1, C).permute(1, 2, 0)
    step = max(1, 2**19 // (C * max(C, E.shape[2])))  # E (N, C, r)
    for s in range(0, E.shape[0], step):
        acc += torch.bmm(E[s:s + step], E[s:s + step].transpose(1, 2)).abs_().sum(0).to(acc.dtype)


def _colors(conflict: torch.Tensor) -> torch.Tensor:
    """Greedy colouring (d,) of the graph with boolean adjacency ``conflict`` (d, d)."""
    A, colors = conflict.cpu().numpy(), np.full(len(conflict), -1, dtype=np.int64)
    for i in range(len(A)):  # over input features, each step vectorized over the others
        used, free = colors[A[i] & (colors >= 0)], np.ones(A[i].sum() + 1, dtype=bool)
        free[used[used < len(free)]] = False
        colors[i] = int(np.argmax(free))
    return torch.as_tensor(colors, device=conflict.device)


def _check_args(model, x, y, layers, batch_size, max_positions):
    for name, v in (("batch_size", batch_size), ("max_positions", max_positions)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if not isinstance(model, nn.Module) or not torch.is_tensor(x) or x.ndim < 2:
        raise ValueError(f"model must be an nn.Module and x a tensor (K, ...), got {type(model).__name__} and "
                         f"{getattr(x, 'shape', type(x).__name__)}")
    if x.shape[0] == 0:
        raise ValueError("x holds no inputs (K = 0); similarity matrices need at least one input")
    if isinstance(layers, str) or not layers or len(set(layers)) != len(layers):
        raise ValueError(f"layers must be a non-empty list of distinct module names, got {layers!r}")
    names = [n for n, _ in model.named_modules() if n]
    missing = [n for n in layers if n not in names]
    if missing:
        raise ValueError(f"the model has no layer {', '.join(map(repr, missing))}; its submodules are: "
                         f"{', '.join(names[:60])}{' ...' if len(names) > 60 else ''}")
    if y is not None:
        y = torch.as_tensor(y).reshape(-1)
        if len(y) != x.shape[0] or y.dtype.is_floating_point or y.dtype == torch.bool:
            raise ValueError(f"y must hold K = {x.shape[0]} integer labels, got {tuple(y.shape)} {y.dtype}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x contains non-finite values")
    return x.detach(), y


def _probe(net: _Hooked, x1: torch.Tensor, layers):
    """Run one input: number of logits, activity shapes, per-input footprint (elements), linear stem."""
    sizes, first, calls = [x1.numel()], [], {}

    def pre(mod, inputs):
        calls[mod] = calls.get(mod, 0) + 1
        first.extend([] if first else [(mod, inputs[0] if inputs else None)])

    leaves = [m for m in net.model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(lambda _m, _i, o: sizes.append(o.numel() if torch.is_tensor(o) else 0))
               for m in leaves] + [m.register_forward_pre_hook(pre) for m in leaves]
    net.calls = {}
    try:
        with torch.no_grad():
            out, hs = net(x1)
    except Exception as exc:  # the model's own forward pass: report it as bad input
        raise ValueError(f"the model fails on inputs of shape {tuple(x1.shape)} (one input of x): "
                         f"{type(exc).__name__}: {str(exc).strip()[:400]}") from exc
    finally:
        for h in handles:
            h.remove()
    if not torch.is_tensor(out) or out.ndim != 2 or out.shape[0] != 1:
        raise ValueError(f"the model must return logits of shape (K, classes), got {getattr(out, 'shape', out)}")
    for n in layers:
        if net.calls.get(n) != 1:
            raise ValueError(f"layer {n!r} runs {net.calls.get(n, 0)} times per forward pass; name a module "
                             "that runs exactly once")
        if not torch.is_tensor(hs[n]) or hs[n].ndim < 2 or hs[n].shape[0] != 1:
            raise ValueError(f"layer {n!r} must output a tensor (K, units, ...), got {getattr(hs[n], 'shape', hs[n])}")
    mod, inp = first[0] if first else (None, None)
    stem = next(n for n, m in net.model.named_modules() if m is mod) if (
        isinstance(mod, nn.Linear) and x1.ndim == 2 and torch.is_tensor(inp) and inp.shape == x1.shape
        and inp.data_ptr() == x1.data_ptr() and inp.stride() == x1.stride()
        and mod.out_features < mod.in_features and calls[mod] == 1) else None
    return out.shape[1], [tuple(hs[n].shape[1:]) for n in layers], sum(sizes), stem


def _positions(Q: int, start: int, b: int, max_positions: int, seed: int, device) -> torch.Tensor | None:
    """The sampled positions (b, P) of inputs start..start+b-1, None when every position is used."""
    return None if Q <= max_positions else torch.as_tensor(
        sampled_positions(Q, range(start, start + b), max_positions, seed), device=device)


def _fast_dtype(dtype: torch.dtype) -> torch.dtype:
    """float32 for the isens factors of a float64 computation while float32 matmuls are exact IEEE."""
    return torch.float32 if dtype == torch.float64 and closed_form_fast() == torch.float32 else dtype


def _frozen_copy(model: nn.Module, dtype: torch.dtype) -> nn.Module:
    return copy.deepcopy(model).to(dtype).eval().requires_grad_(False)


def generic_similarity_matrices(model, x, y=None, layers=None, *, abs_placement="averaged", normalization="max",
                                eps=1e-12, batch_size=1000, max_positions=32, seed=0,
                                dtype=torch.float64) -> list[dict[str, np.ndarray]]:
    """The eight similarity matrices (paper eqs. 1-5) of the named ``layers`` of any classifier.

    ``model(x[:k])`` returns logits (k, o); ``layers`` are module names whose outputs, (K, n) or
    (K, C, *spatial), are the hidden activities; ``y`` the K integer labels (needed only when the
    network after a layer is not piecewise linear).  A spatial layer contributes, per input, the
    positions :func:`sampled_positions` picks.  At most ``batch_size`` inputs at a time (fewer to
    keep each pass within a memory budget), on a ``dtype`` copy of the model in eval mode (isens
    factors in float32 when ``dtype`` is float64 and matmuls are IEEE float32).  Returns one dict
    per layer, as :func:`.closed_form.similarity_matrices` does.  ValueError for bad arguments,
    unknown layers (listing the model's modules), inputs the model rejects, or no inputs.
    """
    check_option("abs_placement", abs_placement, ABS_PLACEMENTS)
    check_option("normalization", normalization, NORMALIZATIONS)
    eps = check_eps(eps)
    x, y = _check_args(model, x, y, layers, batch_size, max_positions)
    param = next(iter(model.parameters()), None)
    device = param.device if param is not None else x.device
    main, fast = _frozen_copy(model, dtype), _fast_dtype(dtype)
    net = _Hooked(main, layers)
    o, shapes, footprint, stem = _probe(net, x[:1].to(device=device, dtype=dtype), layers)
    if stem:
        net.watch(stem)
    inet = net if fast == dtype else _Hooked(_frozen_copy(model, fast), list(layers) + ([stem] if stem else []))
    K, Cs, Qs = x.shape[0], [s[0] for s in shapes], [math.prod(s[1:]) for s in shapes]
    Ps = [min(max_positions, q) for q in Qs]
    R = None if stem is None else torch.linalg.qr(  # W W^T = R^T R
        main.get_submodule(stem).weight.T.to(torch.float64), mode="r")[1].to(fast)
    bs = int(min(batch_size, max(1, _BUDGET // (o * footprint))))
    job = dict(net=net, inet=inet, layers=list(layers), Cs=Cs, Qs=Qs, R=R, stem=stem, footprint=footprint,
               per_input=abs_placement == "per_input", max_positions=int(max_positions), seed=int(seed),
               chunk=max(1, _BUDGET // (bs * footprint)), gen=torch.Generator(device=device).manual_seed(
                   int(seed) % 2**63),
               acc=[{b: torch.zeros(c, c, dtype=torch.float64, device=device) for b in BASE_MEASURES} for c in Cs],
               shift=[None] * len(Cs), csum=[torch.zeros(c, dtype=torch.float64, device=device) for c in Cs])
    try:
        if job["per_input"]:  # exact mean activity first; the averaged mode shifts by the first batch's
            sums = [0.0] * len(layers)
            for s in range(0, K, bs):
                with torch.no_grad():
                    hs = net(x[s:s + bs].to(device=device, dtype=dtype))[1]
                for li, (n, q) in enumerate(zip(layers, Qs)):
                    pos = _positions(q, s, hs[n].shape[0], max_positions, seed, device)
                    sums[li] = sums[li] + _gather(_flat(hs[n]), pos).sum((0, 2)).to(torch.float64)
            job["shift"] = [t / (K * p) for t, p in zip(sums, Ps)]
        for s in range(0, K, bs):
            _batch(job, x[s:s + bs].to(device=device, dtype=dtype), None if y is None else y[s:s + bs].to(device), s)
    finally:
        net.remove()
        inet.remove()
    out = []
    for layer_acc, csum, p in zip(job["acc"], job["csum"], Ps):
        layer_acc["cov"] -= torch.outer(csum, csum) / (K * p)  # sum (h - shift)(h - shift)^T - N mu mu^T
        res = {}
        for b in BASE_MEASURES:
            S = (layer_acc[b] / (K * p)).cpu().numpy()
            res[b] = S = np.abs(0.5 * (S + S.T))
            res[b + "_norm"] = normalize(S, normalization, eps)
        out.append({m: res[m] for m in MEASURES})
    return out


def _batch(job: dict, xb: torch.Tensor, yb: torch.Tensor | None, start: int) -> None:
    """Add one batch's per-sample terms of every layer to ``job["acc"]`` (sums over samples)."""
    net, layers, Cs, Qs, acc, per_input = job["net"], job["layers"], job["Cs"], job["Qs"], job["acc"], job["per_input"]
    b, stem, chunk, gen = xb.shape[0], job["stem"], job["chunk"], job["gen"]
    with torch.no_grad():
        logits, hs = net(xb)
    hs = {n: hs[n] for n in [*layers, stem] if n}
    pos = [_positions(q, start, b, job["max_positions"], job["seed"], xb.device) for q in Qs]
    for li, n in enumerate(layers):  # cov (eq. 1): per sample |c c^T| = |c| |c|^T
        c = _gather(_flat(hs[n]), pos[li]).transpose(1, 2).reshape(-1, Cs[li]).to(torch.float64)
        job["shift"][li] = c.mean(0) if job["shift"][li] is None else job["shift"][li]
        c = c - job["shift"][li]
        c = c.abs() if per_input else c
        job["csum"][li] = job["csum"][li] + (0.0 if per_input else c.sum(0))
        acc[li]["cov"] += c.T @ c
    use_stem = stem is not None  # h depends on x only through the stem: zero gradient, stem output fixed
    if use_stem:
        _, pull = vjp(lambda v: tuple(net(v, {stem: hs[stem]})[1][n] for n in layers), xb)
        use_stem = bool((pull(tuple(torch.randn(hs[n].shape, generator=gen, dtype=xb.dtype, device=xb.device)
                                    for n in layers))[0] == 0).all())
    _isens(job, xb, hs[stem] if use_stem else None, pos)

    # osens (eq. 3) and hess (eq. 4), h the free variable; J = dy/dh from one vjp per logit.
    p = torch.softmax(logits, dim=1)
    o = p.shape[1]
    S = p.sqrt().unsqueeze(2) * (torch.eye(o, dtype=p.dtype, device=p.device) - p.unsqueeze(1))  # (b, o, o)
    for li, n in enumerate(layers):
        h = hs[n]

        def tail(hh, n=n):  # modules that run before h are fixed: the stem need not run
            return net(xb, {stem: hs[stem], n: hh} if stem is not None else {n: hh})[0]

        _, pull = vjp(tail, h)
        cot = torch.eye(o, dtype=h.dtype, device=h.device).unsqueeze(1).expand(o, b, o).contiguous()
        J = _gather(vmap(pull, chunk_size=chunk)(cot)[0].reshape(o, b, Cs[li], Qs[li]), pos[li])  # (o, b, C, P)
        _add_gram(acc[li]["osens"], J.transpose(2, 3), per_input)
        g = torch.randn(b, o, generator=gen, device=h.device, dtype=h.dtype)
        v = torch.randn(h.shape, generator=gen, device=h.device, dtype=h.dtype)
        curv = vjp(lambda hh: vjp(tail, hh)[1](g)[0], h)[1](v)[0]  # d/dh (J^T g) v
        if bool((curv == 0).all()):  # piecewise linear after h: d2L/dh2 = V^T V, V = S J
            V = torch.bmm(S, J.permute(1, 0, 3, 2).reshape(b, o, -1))  # (b, o, P*C)
            _add_gram(acc[li]["hess"], V.reshape(b, o, -1, Cs[li]).transpose(0, 1) if per_input
                      else V.reshape(1, -1, Cs[li]), per_input)
        else:
            acc[li]["hess"] += _hessian_blocks(tail, h, yb, pos[li], Cs[li], Qs[li], chunk, n, per_input)


def _isens(job: dict, xb: torch.Tensor, z: torch.Tensor | None, pos: list) -> None:
    """isens (eq. 2) of one batch from factors E (r, b, P, C) or (C, b, P, r), J J^T = E^T E, J = dh/dv
    for v = x or v = z, the linear stem's output (then E = R J^T).  Dense layers: one vjp per unit, or one jvp
    per direction of v when there are more units; spatial layers: coloured jvps (module docstring)."""
    net, layers, Cs, Qs, stem, gen = job["inet"], job["layers"], job["Cs"], job["Qs"], job["stem"], job["gen"]
    R = job["R"] if z is not None else None
    xb = xb.to(next(iter(net.model.parameters()), xb).dtype)
    v_all = z.to(xb.dtype) if z is not None else xb
    d = v_all[0].numel()
    Ps = [q if p is None else p.shape[1] for p, q in zip(pos, Qs)]
    spatial = [li for li in range(len(layers)) if Qs[li] > 1]
    fwd = [li for li in range(len(layers)) if Qs[li] == 1 and Cs[li] > d]
    rev = [li for li in range(len(layers)) if Qs[li] == 1 and Cs[li] <= d]
    sub = max(1, min(xb.shape[0], _BUDGET // (max([d] * bool(fwd) + [Cs[li] for li in rev] + Ps) * job["footprint"])))
    chunk = max(1, _BUDGET // (sub * job["footprint"]))
    for s in range(0, xb.shape[0], sub):
        xs, v0, ps = xb[s:s + sub], v_all[s:s + sub], [p if p is None else p[s:s + sub] for p in pos]
        b = v0.shape[0]
        prefix = (lambda v, xs=xs: net(xs, {stem: v})[1]) if z is not None else (lambda v: net(v)[1])
        factors, supports = {}, {}
        for li in rev + spatial:  # dense: J (C, b, d); spatial: supports (P, b, d) of random channel mixes
            _, pull = vjp(lambda v, n=layers[li]: _flat(prefix(v)[n]), v0)
            if li in rev:
                J = vmap(pull, chunk_size=chunk)(_one_hots(ps[li], b, Cs[li], 1, v0))[0]
                factors[li] = (J.reshape(Cs[li], b, d), True)
                continue
            mix = torch.randn(Ps[li], b, Cs[li], generator=gen, device=v0.device, dtype=v0.dtype)
            grads = vmap(pull, chunk_size=chunk)(_one_hots(ps[li], b, Cs[li], Qs[li], v0, mix))[0]
            supports[li] = grads.reshape(Ps[li], b, d) != 0
        groups = [(fwd, torch.eye(d, dtype=v0.dtype, device=v0.device))] if fwd else []
        if spatial:  # one jvp per colour of v's entries
            U = torch.cat([u.reshape(-1, d) for u in supports.values()]).to(v0.dtype)
            colors = _colors(U.T @ U > 0)
            groups.append((spatial, F.one_hot(colors, int(colors.max()) + 1).T.to(v0.dtype)))
        for group, directions in groups:
            tangents = directions.unsqueeze(1).expand(-1, b, d).reshape(-1, *v0.shape).contiguous()
            outs = vmap(lambda t, g=group: jvp(lambda v: tuple(_flat(prefix(v)[layers[li]]) for li in g),
                                               (v0,), (t,))[1], chunk_size=chunk)(tangents)
            for li, t in zip(group, outs):  # (n_directions, b, C, Q)
                t = _gather(t, ps[li]).transpose(2, 3)  # (n_directions, b, P, C)
                if Qs[li] > 1:  # entry i of J is the jvp of i's colour, masked to the support
                    t = t[colors] * supports[li].permute(2, 1, 0).unsqueeze(3).to(t.dtype)
                factors[li] = (t, False)
        for li, (E, c_first) in factors.items():
            if R is not None:
                E = E @ R.T if c_first else (R @ E.reshape(d, -1)).reshape(R.shape[0], *E.shape[1:])
            _add_gram(job["acc"][li]["isens"], E, job["per_input"], c_first)


def _hessian_blocks(tail, h, yb, pos, C, Q, chunk, name, per_input) -> torch.Tensor:
    """Sum over samples of the (C x C) blocks d2L/dh[:, p]^2 (|.| first if per_input), from one
    Hessian-vector product of the summed per-input cross-entropy per (unit, position)."""
    if yb is None:
        raise ValueError(f"labels y are needed: the network after layer {name!r} is not piecewise linear, "
                         "so the loss Hessian depends on the label")
    b, one = h.shape[0], torch.ones((), dtype=h.dtype, device=h.device)
    def grad_h(hh): return vjp(lambda t: F.cross_entropy(tail(t), yb, reduction="sum"), hh)[1](one)[0]
    tangents = _one_hots(pos, b, C, Q, h)
    P = tangents.shape[0] // C
    cols = vmap(lambda t: jvp(grad_h, (h,), (t,))[1], chunk_size=chunk)(tangents.reshape(C * P, *h.shape))
    H = torch.diagonal(_gather(cols.reshape(C, P, b, C, Q), pos), dim1=1, dim2=4)  # (C, b, C', P)
    H = 0.5 * (H + H.transpose(0, 2))
    return (H.abs() if per_input else H).sum((1, 3)).to(torch.float64)

