"""The eight similarity matrices of a ReLU MLP in closed form (paper section 3.1, eqs. 1-5).

Exact closed forms, vectorized over batches of inputs: no autograd, no loop over units or
single inputs.  With ``D_l = diag(1[z_l > 0])`` and ``W_l`` the weight of ``linears[l]``:
``dh_l/dx = D_l W_l ... D_1 W_1`` (upstream), ``dy/dh_l = (dy/dh_{l+1}) D_{l+1} W_{l+1}``
with ``dy/dh_L = W_out`` (downstream), and the loss Hessian ``d2L/dh2 = J^T (diag p - p p^T) J``
with ``p = softmax(y)`` (ReLU'' = 0 almost everywhere).  The derivations, the float32 blocks of
the deep-layer input sensitivity and the error bounds are in docs/science.md (section 3).
Memory is O(batch_size * (d + n^2)), independent of the number of inputs K.
"""

from __future__ import annotations

import numpy as np
import torch

from ..measures import BASE_MEASURES, MEASURES
from .normalize import ABS_PLACEMENTS, NORMALIZATIONS, check_eps, check_option, normalize

_DTYPE = torch.float64
_CHUNK_ELEMS = 2**19  # elements of a per-input factor block (2 MiB in float32)

def _weights(model, device) -> list[tuple[torch.Tensor, torch.Tensor]]:
    layers = []
    for lin in model.linears:
        W = lin.weight.detach().to(device=device, dtype=_DTYPE)
        if lin.bias is None:
            b = torch.zeros(W.shape[0], dtype=_DTYPE, device=device)
        else:
            b = lin.bias.detach().to(device=device, dtype=_DTYPE)
        layers.append((W, b))
    return layers


def _fast_dtype() -> torch.dtype:
    """Dtype for the per-input input-sensitivity factors of layers >= 2.

    float32 (its Gram blocks are summed into float64 accumulators; measured error
    ~1e-7 of the largest entry) when float32 matmuls are full IEEE float32,
    i.e. ``torch.get_float32_matmul_precision() == "highest"`` (the default);
    float64 when the user allowed TF32 / bfloat16 matmuls.
    """
    try:
        exact = torch.get_float32_matmul_precision() == "highest" and not torch.backends.cuda.matmul.allow_tf32
    except Exception:  # pragma: no cover - very old / exotic torch builds
        exact = False
    return torch.float32 if exact else _DTYPE


def _forward(layers, xb: torch.Tensor):
    """Eval-mode forward pass in float64: hidden activities, ReLU masks, logits."""
    hs, ds = [], []
    h = xb
    for W, b in layers[:-1]:
        z = torch.addmm(b, h, W.T)
        d = (z > 0).to(_DTYPE)
        h = z * d
        hs.append(h)
        ds.append(d)
    W, b = layers[-1]
    y = torch.addmm(b, h, W.T)
    return hs, ds, y


def _add_gram(acc: torch.Tensor, E: torch.Tensor, per_input: bool) -> None:
    """acc += sum_k E_k^T E_k for E of shape (B, r, n) (|.| of each term first if per_input).

    acc is float64; E may be float32, in which case each (n, n) block sum is
    converted to float64 before it is added.  Per-input products are formed in
    cache-sized chunks of inputs.
    """
    B, r, n = E.shape
    if not per_input:
        F = E.reshape(B * r, n)
        if E.dtype == acc.dtype:
            acc.addmm_(F.T, F)
        else:
            acc += (F.T @ F).to(acc.dtype)
        return
    step = max(1, _CHUNK_ELEMS // (n * n))
    for cs in range(0, B, step):
        Ec = E[cs : cs + step]
        acc += torch.bmm(Ec.transpose(1, 2), Ec).abs_().sum(0).to(acc.dtype)


def _masked(J: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """J D for a batch: J (B, o, n) or (o, n) shared, d (B, n) 0/1 masks."""
    return J * d.unsqueeze(1)


def similarity_matrices(
    model,
    x: torch.Tensor,
    *,
    abs_placement: str = "averaged",
    normalization: str = "max",
    eps: float = 1e-12,
    batch_size: int = 1000,
) -> list[dict[str, np.ndarray]]:
    """The eight similarity matrices of every hidden layer (paper eqs. 1-5).

    Parameters
    ----------
    model
        A ReLU MLP with hidden layers ``relu(linears[l](h_{l-1}))`` and logits
        ``linears[-1](h_L)`` (:class:`unitclust.models.MLP`).  Dropout is ignored:
        the network is evaluated in eval mode.  The model is switched to eval mode
        for the computation (its own forward pass is used as a consistency check
        that it really is such an MLP) and its train/eval mode is restored after.
    x
        Inputs, shape (K, d) with d = ``linears[0].in_features`` and K >= 1 (the
        test split).  Moved batch by batch to the model's device.
    abs_placement
        ``"averaged"`` (default): ``S = |mean_k term_k|`` (released code, values in
        the paper's figures); ``"per_input"``: ``S = mean_k |term_k|`` (eqs. 1-4 as
        printed).
    normalization
        ``"max"`` (eq. 5, default) or ``"sqrt"``; see :func:`normalize`.
    eps
        The epsilon of eq. 5 (> 0).
    batch_size
        Inputs processed at once; memory is O(batch_size * (d + n^2)), independent of K.

    Returns
    -------
    One dict per hidden layer, in order, mapping each name in :data:`MEASURES` to a
    float64 numpy array of shape (n_l, n_l), symmetric and non-negative:

    * ``cov`` (eq. 1): covariance of h_i and h_j across the K inputs (divided by K);
      per input ``(h_k - hbar)(h_k - hbar)^T``.
    * ``isens`` (eq. 2): per input ``J J^T`` with ``J = dh/dx`` (n x d).
    * ``osens`` (eq. 3): per input ``J^T J`` with ``J = dy/dh`` (o x n), y = logits.
    * ``hess`` (eq. 4): per input the Hessian ``d^2 L/dh dh`` of the cross-entropy
      loss with h the free variable.  For a ReLU network this equals
      ``J^T (diag(p) - p p^T) J`` with ``p = softmax(y)`` and ``J = dy/dh``, which is
      independent of the label: no labels are needed (or accepted).
    * ``*_norm`` (eq. 5): the base matrix (after |.|) passed through
      :func:`normalize` with ``method=normalization``.

    Raises
    ------
    ValueError
        For unknown option strings, a non-positive eps or batch_size, x with the
        wrong shape / feature dimension, no inputs, non-finite inputs, or a model
        that is not a ReLU MLP of this form.
    """
    check_option("abs_placement", abs_placement, ABS_PLACEMENTS)
    check_option("normalization", normalization, NORMALIZATIONS)
    eps = check_eps(eps)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    batch_size = int(batch_size)
    linears = getattr(model, "linears", None)
    if linears is None or len(linears) < 2:
        raise ValueError("model must be a ReLU MLP with at least one hidden layer (a `linears` list of >= 2 nn.Linear)")
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"x must be a torch.Tensor, got {type(x).__name__}")
    d_in = linears[0].in_features
    if x.ndim != 2 or x.shape[1] != d_in:
        raise ValueError(f"x must have shape (K, {d_in}) for this model, got {tuple(x.shape)}")
    K = x.shape[0]
    if K == 0:
        raise ValueError("x holds no inputs (K = 0); similarity matrices need at least one input")

    device = linears[0].weight.device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            acc = _accumulate(model, x, abs_placement, batch_size, device)
    finally:
        model.train(was_training)

    out = []
    for layer_acc in acc:
        res = {}
        for m in BASE_MEASURES:
            S = layer_acc[m].cpu().numpy()
            S = np.abs(0.5 * (S + S.T))
            res[m] = S
            res[m + "_norm"] = normalize(S, normalization, eps)
        out.append({m: res[m] for m in MEASURES})
    return out


def _batch(x: torch.Tensor, s: int, e: int, device) -> torch.Tensor:
    xb = x[s:e].to(device=device, dtype=_DTYPE)
    # float64 sum of finite float32-range values cannot overflow; only if it is not
    # finite is the exact (slower) check needed.
    if not bool(torch.isfinite(xb.sum())) and not bool(torch.isfinite(xb).all()):
        raise ValueError("x contains non-finite values")
    return xb


def _accumulate(model, x: torch.Tensor, abs_placement: str, batch_size: int, device) -> list[dict[str, torch.Tensor]]:
    """Mean base matrices (before the final |.|) per hidden layer, as float64 tensors."""
    per_input = abs_placement == "per_input"  # |.| of every per-input term
    K = x.shape[0]
    layers = _weights(model, device)
    L = len(layers) - 1  # number of hidden layers
    widths = [W.shape[0] for W, _ in layers[:-1]]
    W_out = layers[-1][0]  # (o, n_L)
    o = W_out.shape[0]
    batches = [(s, min(s + batch_size, K)) for s in range(0, K, batch_size)]

    def zeros(n):
        return torch.zeros(n, n, dtype=_DTYPE, device=device)

    # Covariance centring (eq. 1).  per_input needs the exact mean: a first pass
    # over the batches.  averaged uses a shifted one-pass formula (shift s = mean of
    # the first batch; mean (h-s)(h-s)^T - (hbar-s)(hbar-s)^T), whose cancellation
    # is only of the size of (hbar - s)^2.
    s0, e0 = batches[0]
    first = _forward(layers, _batch(x, s0, e0, device))
    _check_forward(model, x[s0:e0], first[2])
    shifts = [h.mean(0) for h in first[0]]
    if per_input:
        sums = [torch.zeros(n, dtype=_DTYPE, device=device) for n in widths]
        for s, e in batches:
            h = _batch(x, s, e, device)
            for l, (W, b) in enumerate(layers[:-1]):
                h = torch.addmm(b, h, W.T).clamp_(min=0)
                sums[l] += h.sum(0)
        shifts = [t / K for t in sums]
    csum = [torch.zeros(n, dtype=_DTYPE, device=device) for n in widths]

    # Input sensitivity (eq. 2), 1-based as in the module docstring.  Layer 1:
    # J J^T = (W1 W1^T) * d d^T.  Deeper layers: W1 W1^T = R^T R (QR of W1^T,
    # r = min(d, n1) rows) and per-input factors E_l = R D1 W2^T D2 ... W_l^T D_l
    # (r x n_l) with J J^T = E_l^T E_l, in the fast dtype (see module docstring).
    W1 = layers[0][0]
    M1 = W1 @ W1.T
    fdt = _fast_dtype()
    if L > 1:
        R = torch.linalg.qr(W1.T, mode="r")[1].to(fdt).contiguous()  # (r, n1); LAPACK's R is column-major
        Wf = [W.to(fdt) for W, _ in layers[:-1]]
        chunk = max(1, _CHUNK_ELEMS // (R.shape[0] * max(widths)))

    # Downstream (eqs. 3-4), 0-based hidden index l, layers[l] = (W_l, b_l) maps
    # h_{l-1} to z_l.  J_l = dy/dh_l: J_{L-1} = W_out, J_{l-1} = J_l D_l W_l.
    # Hessian H = V^T V with V = S J, S = diag(sqrt p)(I - 1 p^T) (o x o), the
    # cancellation-free form of J^T (diag p - p p^T) J.  In averaged mode the last
    # multiplication by W_l is taken after the sum:
    #   mean_k J_{l-1}^T J_{l-1} = W_l^T [mean_k (J_l D_l)^T (J_l D_l)] W_l   (same for V),
    # and for the last hidden layer mean_k V^T V = W_out^T [mean_k S^T S] W_out.
    N = W_out.T @ W_out
    eye_o = torch.eye(o, dtype=_DTYPE, device=device)

    acc = [{m: zeros(n) for m in BASE_MEASURES} for n in widths]
    Qo = [zeros(n) for n in widths]  # averaged: sum_k (J_l D_l)^T (J_l D_l), l >= 1
    Qh = [zeros(n) for n in widths]  # averaged: same for V
    Csum = zeros(o)
    for i, (s, e) in enumerate(batches):
        hs, ds, y = first if i == 0 else _forward(layers, _batch(x, s, e, device))
        B = e - s

        # cov (eq. 1): centred outer products; per input |c c^T| = |c| |c|^T.
        for l in range(L):
            c = hs[l] - shifts[l]
            if per_input:
                c = c.abs()
            else:
                csum[l] += c.sum(0)
            acc[l]["cov"].addmm_(c.T, c)

        # isens (eq. 2).
        d1 = ds[0]
        acc[0]["isens"] += (M1.abs() if per_input else M1) * (d1.T @ d1)
        if L > 1:
            dsf = [d.to(fdt) for d in ds]
            for cs in range(0, B, chunk):  # chunks keep the (c, r, n) blocks cache-sized
                ce = min(cs + chunk, B)
                E = R.unsqueeze(0) * dsf[0][cs:ce].unsqueeze(1)  # (c, r, n1) = R D1
                for l in range(1, L):
                    W = Wf[l]
                    E = (E.reshape(-1, W.shape[1]) @ W.T).reshape(ce - cs, -1, W.shape[0])
                    E.mul_(dsf[l][cs:ce].unsqueeze(1))
                    _add_gram(acc[l]["isens"], E, per_input)

        # osens (eq. 3) and hess (eq. 4).
        p = torch.softmax(y, dim=1)  # (B, o)
        S = p.sqrt().unsqueeze(2) * (eye_o - p.unsqueeze(1))  # (B, o, o): rows sqrt(p_a)(e_a - p)
        V = (S.reshape(B * o, o) @ W_out).reshape(B, o, -1)  # V for the last hidden layer
        if per_input:
            J = W_out.expand(B, -1, -1)
            for l in range(L - 1, -1, -1):
                if l < L - 1:
                    W = layers[l + 1][0]
                    d = ds[l + 1].unsqueeze(1)
                    J = ((J * d).reshape(-1, W.shape[0]) @ W).reshape(B, o, -1)
                    V = ((V * d).reshape(-1, W.shape[0]) @ W).reshape(B, o, -1)
                    _add_gram(acc[l]["osens"], J, True)
                else:
                    acc[l]["osens"] += B * N.abs()  # J = W_out for every input
                _add_gram(acc[l]["hess"], V, True)
        else:
            Csum.addmm_(S.reshape(B * o, o).T, S.reshape(B * o, o))
            J = None  # J_l for l = L-1 is W_out, shared by all inputs
            for l in range(L - 1, 0, -1):
                d = ds[l]
                Vm = _masked(V, d)
                _add_gram(Qh[l], Vm, False)
                if J is None:
                    Qo[l] += N * (d.T @ d)
                else:
                    _add_gram(Qo[l], _masked(J, d), False)
                if l > 1:  # propagate to layer l-1: J_{l-1} = J_l D_l W_l (same for V)
                    W = layers[l][0]
                    Jm = _masked(W_out if J is None else J, d)
                    J = (Jm.reshape(-1, W.shape[0]) @ W).reshape(B, o, -1)
                    V = (Vm.reshape(-1, W.shape[0]) @ W).reshape(B, o, -1)

    for l in range(L):
        acc[l]["cov"] /= K
        acc[l]["isens"] /= K
        if not per_input:
            mu = csum[l] / K  # hbar - shift
            acc[l]["cov"] -= torch.outer(mu, mu)
            if l == L - 1:
                acc[l]["osens"] = N.clone()
                acc[l]["hess"] = W_out.T @ (Csum / K) @ W_out
            else:
                W = layers[l + 1][0]
                acc[l]["osens"] = W.T @ (Qo[l + 1] / K) @ W
                acc[l]["hess"] = W.T @ (Qh[l + 1] / K) @ W
        else:
            acc[l]["osens"] /= K
            acc[l]["hess"] /= K
    return acc


def _check_forward(model, xb: torch.Tensor, y64: torch.Tensor) -> None:
    """Check that the model's own eval-mode forward pass gives our logits.

    Guards against models that are not plain ReLU MLPs (other activations,
    extra layers), for which the closed forms above would be silently wrong.
    """
    xb = xb[:256]
    p = next(model.parameters())
    y_model = model(xb.to(device=p.device, dtype=p.dtype))
    if not isinstance(y_model, torch.Tensor) or y_model.shape != (xb.shape[0], y64.shape[1]):
        raise ValueError("model(x) does not return logits of shape (K, out_features of linears[-1])")
    ref = y64[: xb.shape[0]]
    err = (y_model.to(_DTYPE) - ref).abs().max().item()
    scale = 1.0 + ref.abs().max().item()
    if not err <= 1e-2 * scale:
        raise ValueError(
            "model's eval-mode forward pass does not match a ReLU MLP built from model.linears "
            f"(max |logit difference| {err:.3g}); similarity_matrices only supports such MLPs"
        )
