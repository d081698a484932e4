"""A hand-written training epoch for the ReLU MLP: the same model as autograd, less overhead per step.

The training objective is the one of docs/science.md §2 (and :func:`unitclust.training.penalty`):

    loss = cross-entropy(logits, y) + l1 * sum|W| + l2 * sum W^2

over every weight matrix of the :class:`~unitclust.models.MLP` (output layer included, biases
excluded, no 1/2 factor).  :class:`FastMLPEpoch` runs one epoch of minibatch steps the way
:func:`unitclust.training.train`'s autograd path does, with the same data order (the epoch's
permutation, sliced into minibatches), the same dropout masks (drawn from the global torch RNG as
``nn.Dropout`` draws them: ``bernoulli_(1 - p)`` of the activity's shape, divided by ``1 - p``, layer
by layer; where torch's CPU kernel draws them, as float64 uniforms ``< 1 - p``, the same numbers
about 2x faster, see :func:`uniform_masks_match`) and the same optimizer object, but computes the
gradients by hand into preallocated buffers:

* the parameters and their gradients are views of one flat buffer (weights first), so the penalty,
  its gradient and the Adam update each take one operation for the whole network;
* forward: ``Z_l = A_{l-1} W_l^T + b_l`` (``addmm`` into a buffer), ``H_l = relu(Z_l)`` in place,
  ``A_l = H_l * M_l`` with the dropout mask ``M_l`` (``A_l = H_l`` without dropout); the output
  layer transposed, ``Z^T = W A^T + b``, so that the log-softmax runs over contiguous classes;
* the cross-entropy's gradient with respect to the logits, ``(softmax - onehot) / B``, computed as
  autograd's log-softmax backward computes it: ``exp(log-softmax) / B``, minus ``1 / B`` at the labels;
* ``dL/dW_l = l1 * sign(W_l) + 2 * l2 * W_l + G_l^T A_{l-1}`` (the penalty's gradient written for
  all weights first, each product accumulated onto it by ``addmm_``; ``sign(0) = 0`` as autograd's
  ``abs``), ``dL/db_l = sum_rows G_l``, ``G_{l-1} = (G_l W_l) * M_{l-1} * [H_{l-1} > 0]``;
* the Adam step: for ``Adam(fused=True)`` the same fused kernel ``opt.step()`` runs
  (``torch._fused_adam_``), called once on the flat buffer with Adam's state kept here; any other
  optimizer's own ``step()``.  The learning rate is read from the optimizer, so
  ``ReduceLROnPlateau`` works unchanged.

The result equals the autograd path's up to float rounding (the order of a few additions
differs); ``tests/test_training_fast.py`` checks it.  Minibatches are gathered with
``index_select`` into a preallocated buffer, from the uint8 levels the dataset is stored as when
the caller gives them (a quarter of the memory traffic; converted to exactly the float inputs).
"""

from __future__ import annotations

import torch
from torch import nn

from .models import MLP


def supports(model: nn.Module, x: torch.Tensor) -> bool:
    """Whether :class:`FastMLPEpoch` trains ``model`` on inputs ``x``: exactly the paper's
    :class:`MLP` (not a subclass, which may change ``forward``), float32 parameters and 2-D
    float32 inputs, all on the CPU (on a GPU ``nn.Dropout`` draws its masks with a fused kernel
    of its own, and the path is not tested there: GPU jobs keep autograd)."""
    if type(model) is not MLP:
        return False
    params = list(model.parameters())
    return (x.ndim == 2 and x.dtype == torch.float32 and x.shape[1] == model.in_dim and x.device.type == "cpu"
            and all(p.dtype == torch.float32 and p.device == x.device for p in params))


def uniform_masks_match(keep: float, shape: tuple[int, int]) -> bool:
    """Whether ``empty(shape).bernoulli_(keep)`` (what ``nn.Dropout`` draws on the CPU) equals
    ``rand(shape, dtype=float64) < keep`` and leaves the global RNG in the same state: so in torch's
    own CPU kernel (one 53-bit uniform per element, in order), not in the MKL one it takes on Intel
    CPUs.  Probed on the global generator, whose state is restored; the uniforms are about 2x faster."""
    state = torch.random.get_rng_state()
    try:
        a = torch.empty(shape).bernoulli_(keep)
        after_a = torch.rand(4, dtype=torch.float64)
        torch.random.set_rng_state(state)
        b = torch.lt(torch.rand(shape, dtype=torch.float64), keep).to(torch.float32)
        return torch.equal(a, b) and torch.equal(after_a, torch.rand(4, dtype=torch.float64))
    finally:
        torch.random.set_rng_state(state)


class _Rows:
    """The per-step buffers sliced to ``n`` rows (the full minibatch, or the epoch's shorter last one),
    and the transposed views the matrix products take, made once."""

    def __init__(self, fe: FastMLPEpoch, n: int):
        dev, f32 = fe.x.device, torch.float32
        self.xb, self.yb = fe.xb[:n], fe.yb[:n]
        self.yb_row = self.yb.view(1, n)
        self.x_bytes = fe.x_bytes_b[:n] if fe.x_bytes is not None else None
        self.z = [z[:n] for z in fe.z]
        self.masks = [m[:n] for m in fe.masks]
        self.uniforms = [u[:n] for u in fe.uniforms]
        self.acts = [a[:n] for a in fe.acts]
        self.grads = [g[:n] for g in fe.grads]
        self.grads_t = [g.t() for g in self.grads]
        self.dacts = [d[:n] for d in fe.dacts]
        self.inputs = [self.xb, *(self.acts if fe.p > 0 else self.z)]  # A_0 = x, A_l = H_l * M_l
        self.inputs_t = [a.t() for a in self.inputs]
        n_out = fe.weights[-1].shape[0]
        # the output layer transposed (classes x rows): the class-wise softmax runs along contiguous rows
        self.logits_t = torch.empty(n_out, n, dtype=f32, device=dev)
        self.logp_t = torch.empty(n_out, n, dtype=f32, device=dev)
        self.grad_t = torch.empty(n_out, n, dtype=f32, device=dev)  # dL/dlogits, transposed
        self.top = torch.empty(n, dtype=f32, device=dev)
        self.inv_n = torch.tensor(1.0 / n, dtype=f32, device=dev)  # nll_loss's mean: 1 / rows, in float32
        self.minus_inv_n = torch.full((1, n), -(1.0 / n), dtype=f32, device=dev)


class FastMLPEpoch:
    """One training epoch of ``model`` (an :class:`MLP`) on ``x``, ``y`` with optimizer ``opt``.

    ``run(order)`` steps through ``order`` in minibatches of ``batch_size`` and returns, as tensors,
    the epoch's sum of (objective x batch size), the number of correct training predictions and the
    last minibatch's objective, as the autograd path does (docs/science.md §2).

    While it exists the model's parameters (and their ``.grad``) are views of one flat buffer, weights
    first, so that the penalty, its gradient and Adam each take one operation for the whole network;
    :meth:`close` gives every parameter its own storage again.  ``x_bytes`` optionally gives the inputs
    as ``(levels, scale)`` with ``x == levels.float() * scale`` (uint8 levels, as datasets are stored):
    minibatches are then gathered as bytes, a quarter of the memory traffic, and converted exactly."""

    def __init__(self, model: MLP, x: torch.Tensor, y: torch.Tensor, *, l1: float, l2: float,
                 batch_size: int, opt: torch.optim.Optimizer, x_bytes: tuple[torch.Tensor, float] | None = None):
        self.model, self.x, self.y, self.opt = model, x, y, opt
        self.l1, self.l2, self.p = float(l1), float(l2), float(model.p)
        self.batch_size = int(batch_size)
        b, dev, f32 = self.batch_size, x.device, torch.float32
        self._flatten(model)
        self.weights_t = [w.t() for w in self.weights]
        widths = [lin.out_features for lin in model.linears]
        self.x_bytes = _checked_bytes(x, x_bytes)  # (levels, float32 scale) or None
        if self.x_bytes is not None:
            self.x_bytes_b = torch.empty(b, x.shape[1], dtype=torch.uint8, device=dev)
        self.last_bias = self.biases[-1].view(-1, 1)
        self.xb = torch.empty(b, x.shape[1], dtype=f32, device=dev)
        self.yb = torch.empty(b, dtype=y.dtype, device=dev)
        self.z = [torch.empty(b, w, dtype=f32, device=dev) for w in widths[:-1]]  # pre-activations, ReLU in place
        self.masks = [torch.empty(b, w, dtype=f32, device=dev) for w in widths[:-1]] if self.p > 0 else []
        self.acts = [torch.empty(b, w, dtype=f32, device=dev) for w in widths[:-1]] if self.p > 0 else []
        self.uniform_masks = (self.p > 0 and dev.type == "cpu" and len(widths) > 1
                              and uniform_masks_match(1 - self.p, (b, widths[0])))
        self.uniforms = [torch.empty(b, w, dtype=torch.float64, device=dev) for w in widths[:-1]] \
            if self.uniform_masks else []
        self.grads = [torch.empty(b, w, dtype=f32, device=dev) for w in widths[:-1]]  # dL/dZ_l, hidden layers
        self.dacts = [torch.empty(b, w, dtype=f32, device=dev) for w in widths[:-1]]  # dL/dA_l
        # the penalty's value: sum|W| = <W, sign W> and sum W^2 = <W, W> over all weights, weighted by l1, l2
        coef = ([self.l1] if self.l1 else []) + ([self.l2] if self.l2 else [])
        self.pen_coef = torch.tensor(coef, dtype=f32, device=dev)
        self.pen_terms = torch.zeros(len(coef), dtype=f32, device=dev)
        self.pen_slots = list(self.pen_terms)
        self.two_l2 = torch.tensor(2 * self.l2, dtype=f32, device=dev)  # float32(2 l2) = 2 float32(l2), as autograd's
        self.l1_t = torch.tensor(self.l1, dtype=f32, device=dev)
        self.pen = torch.zeros((), dtype=f32, device=dev)
        self._rows: dict[int, _Rows] = {}
        self._plan = None
        self._fused = self._fused_args()

    def _flatten(self, model: MLP) -> None:
        """Make every parameter, and its gradient, a view of one flat buffer: the weights, then the biases."""
        self.weights = [lin.weight for lin in model.linears]
        self.biases = [lin.bias for lin in model.linears]
        params = self.weights + self.biases
        n_weights = sum(w.numel() for w in self.weights)
        total = n_weights + sum(b.numel() for b in self.biases)
        self.flat = torch.empty(total, dtype=torch.float32, device=self.x.device)
        self.flat_grad = torch.zeros_like(self.flat)
        offset = 0
        for p in params:
            n = p.numel()
            view = self.flat[offset:offset + n].view_as(p)
            view.copy_(p.detach())
            p.data = view
            p.grad = self.flat_grad[offset:offset + n].view_as(p)
            offset += n
        self.w_flat, self.gw_flat = self.flat[:n_weights], self.flat_grad[:n_weights]
        self.sign_flat = torch.zeros_like(self.w_flat)

    def close(self) -> None:
        """Give every parameter its own storage again (the values unchanged) and drop the gradients."""
        for p in self.weights + self.biases:
            p.data = p.detach().clone()
            p.grad = None

    # -------------------------------------------------------------- the optimizer
    def _fused_args(self):
        """Adam's state for the flat buffer and its hyperparameters when ``opt`` is a plain
        ``Adam(fused=True)``: the fused kernel then updates the whole network in one call (the same
        element-wise algorithm as ``opt.step()``); ``None`` otherwise (then ``opt.step()`` is called)."""
        opt = self.opt
        if not (isinstance(opt, torch.optim.Adam) and hasattr(torch, "_fused_adam_")
                and len(opt.param_groups) == 1 and not opt.state):
            return None
        g = opt.param_groups[0]
        if not g.get("fused") or g["amsgrad"] or g["maximize"] or g.get("differentiable") or g.get("capturable") \
                or g.get("decoupled_weight_decay") or torch.is_tensor(g["lr"]) or torch.is_tensor(g["betas"][0]):
            return None
        return ([torch.zeros_like(self.flat)], [torch.zeros_like(self.flat)],
                [torch.zeros((), dtype=torch.float32, device=self.flat.device)], g)

    def _step(self):
        if self._fused is None:
            self.opt.step()
            return
        m, v, steps, g = self._fused
        steps[0].add_(1)
        torch._fused_adam_([self.flat], [self.flat_grad], m, v, [], steps, amsgrad=False, lr=g["lr"],
                           beta1=g["betas"][0], beta2=g["betas"][1], weight_decay=g["weight_decay"], eps=g["eps"],
                           maximize=False, grad_scale=None, found_inf=None)

    # -------------------------------------------------------------- one epoch
    def _epoch_plan(self, n_total: int):
        """Per minibatch: its start, its rows, its slot of the epoch's objectives and of the predictions."""
        if self._plan is None or self._plan[0] != n_total:
            starts = list(range(0, n_total, self.batch_size))
            sizes = [min(self.batch_size, n_total - i) for i in starts]
            dev = self.x.device
            losses = torch.zeros(len(starts), dtype=torch.float32, device=dev)
            preds = torch.zeros(n_total, dtype=torch.int64, device=dev)
            for n in set(sizes):
                self._rows.setdefault(n, _Rows(self, n))
            steps = [(i, n, self._rows[n], losses[k], preds[i:i + n]) for k, (i, n) in enumerate(zip(starts, sizes))]
            self._plan = (n_total, steps, losses, torch.tensor(sizes, dtype=torch.float32, device=dev), preds)
        return self._plan[1:]

    @torch.no_grad()
    def run(self, order: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        steps, losses, sizes, preds = self._epoch_plan(len(order))
        for i, n, rows, loss, pred in steps:
            self._minibatch(order[i:i + n], rows, loss, pred)
        # as the autograd path: sum over minibatches of (float32 objective x rows), accumulated in float64
        loss_sum = (losses * sizes).double().sum()
        correct = (preds == self.y.index_select(0, order)).sum()
        return loss_sum, correct, losses[-1]

    def _minibatch(self, idx: torch.Tensor, r: _Rows, loss: torch.Tensor, pred: torch.Tensor) -> None:
        last = len(self.weights) - 1
        if r.x_bytes is not None:  # x = levels * scale, as the dataset's float inputs were made
            torch.index_select(self.x_bytes[0], 0, idx, out=r.x_bytes)
            r.xb.copy_(r.x_bytes).mul_(self.x_bytes[1])
        else:
            torch.index_select(self.x, 0, idx, out=r.xb)
        torch.index_select(self.y, 0, idx, out=r.yb)
        # forward
        for layer in range(last):
            z = torch.addmm(self.biases[layer], r.inputs[layer], self.weights_t[layer], out=r.z[layer]).relu_()
            if self.p > 0:  # nn.Dropout's draw: bernoulli(1 - p) of the activity's shape, / (1 - p)
                if self.uniform_masks:  # the same draw, faster
                    torch.lt(torch.rand(r.uniforms[layer].shape, dtype=torch.float64, out=r.uniforms[layer]),
                             1 - self.p, out=r.masks[layer])
                else:
                    r.masks[layer].bernoulli_(1 - self.p)
                torch.mul(z, r.masks[layer].div_(1 - self.p), out=r.acts[layer])
        # the output layer transposed: logits^T = W A^T + b, log-softmax over classes (dim 0)
        torch.addmm(self.last_bias, self.weights[last], r.inputs_t[last], out=r.logits_t)
        torch._log_softmax(r.logits_t, 0, False, out=r.logp_t)
        ce = torch._C._nn.nll_loss(r.logp_t.t(), r.yb, None, 1, -100)  # mean reduction
        if self.pen_terms.numel():
            torch.add(ce, self._penalty_and_signs(), out=loss)
        else:
            loss.copy_(ce)
        torch.max(r.logits_t, 0, out=(r.top, pred))  # the first of tied maxima, as argmax
        # dCE/dlogits = (softmax - onehot) / n, as autograd's log-softmax backward computes it
        torch.exp(r.logp_t, out=r.grad_t).mul_(r.inv_n).scatter_add_(0, r.yb_row, r.minus_inv_n)
        # backward: the penalty's gradient for all weights first, then each layer's product onto it
        if self.l2:
            torch.mul(self.w_flat, self.two_l2, out=self.gw_flat)
            if self.l1:
                self.gw_flat.add_(self.sign_flat, alpha=self.l1)
        elif self.l1:
            torch.mul(self.sign_flat, self.l1_t, out=self.gw_flat)
        else:
            self.gw_flat.zero_()
        w = self.weights[last]
        w.grad.addmm_(r.grad_t, r.inputs[last])
        torch.sum(r.grad_t, 1, out=self.biases[last].grad)
        grad_t_rows = r.grad_t.t()  # dL/dlogits, rows x classes
        for layer in range(last, -1, -1):
            g = grad_t_rows if layer == last else r.grads[layer]
            if layer < last:
                w = self.weights[layer]
                w.grad.addmm_(r.grads_t[layer], r.inputs[layer])
                torch.sum(g, 0, out=self.biases[layer].grad)
            if layer > 0:  # dL/dZ_{l-1} = (G_l W_l) * mask * [H > 0]
                da = torch.mm(g, w, out=r.dacts[layer - 1])
                if self.p > 0:
                    da.mul_(r.masks[layer - 1])
                self._relu_backward(da, r.z[layer - 1], 0, grad_input=r.grads[layer - 1])
        self._step()

    _relu_backward = staticmethod(torch.ops.aten.threshold_backward.grad_input)

    def _penalty_and_signs(self) -> torch.Tensor:
        """l1 * sum|W| + l2 * sum W^2 at the current weights (docs/science.md §2); fills ``sign_flat``
        with sign(W) for the L1 gradient."""
        k = 0
        if self.l1:
            torch.sign(self.w_flat, out=self.sign_flat)
            torch.dot(self.w_flat, self.sign_flat, out=self.pen_slots[k])
            k += 1
        if self.l2:
            torch.dot(self.w_flat, self.w_flat, out=self.pen_slots[k])
        return torch.dot(self.pen_terms, self.pen_coef, out=self.pen)


def _checked_bytes(x: torch.Tensor, x_bytes):
    """``(levels, scale)`` with the scale as a float32 tensor if ``levels.float() * scale`` gives ``x``
    exactly, by the conversion the minibatches use (checked on a sample of 2,000 rows); else ``None``
    (the float inputs are gathered)."""
    if x_bytes is None:
        return None
    levels, scale = x_bytes
    if levels.dtype != torch.uint8 or levels.shape != x.shape or levels.device != x.device:
        return None
    scale = torch.tensor(float(scale), dtype=torch.float32, device=x.device)
    rows = torch.arange(0, len(x), max(1, len(x) // 2000), device=x.device)
    sample = levels.index_select(0, rows).to(torch.float32).mul_(scale)
    return (levels, scale) if torch.equal(sample, x.index_select(0, rows)) else None
