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

* forward: ``Z_l = A_{l-1} W_l^T + b_l`` (``addmm`` into a buffer), ``H_l = relu(Z_l)`` in place,
  ``A_l = H_l * M_l`` with the dropout mask ``M_l`` (``A_l = H_l`` without dropout);
* the cross-entropy's gradient with respect to the logits, ``(softmax - onehot) / B``, from the
  same ATen kernels autograd uses (``nll_loss_backward``, ``_log_softmax_backward_data``);
* ``dL/dW_l = G_l^T A_{l-1} + l1 * sign(W_l) + 2 * l2 * W_l`` (the penalty's gradient written into
  the buffer first, the matrix product accumulated onto it; ``sign(0) = 0`` as autograd's ``abs``),
  ``dL/db_l = sum_rows G_l``, ``G_{l-1} = (G_l W_l) * M_{l-1} * [H_{l-1} > 0]``;
* the Adam step: the optimizer's own ``step()``, or for ``Adam(fused=True)`` the same fused kernel
  (``torch._fused_adam_``) called directly on the optimizer's state, which skips the Python
  bookkeeping of ``step()``; the learning rate is read from the optimizer, so
  ``ReduceLROnPlateau`` works unchanged.

The result equals the autograd path's up to float rounding (the order of a few additions
differs); ``tests/test_training_fast.py`` checks it.  Minibatches are gathered with
``index_select`` into a preallocated buffer.
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
        self.xb, self.yb = fe.xb[:n], fe.yb[:n]
        self.z = [z[:n] for z in fe.z]
        self.masks = [m[:n] for m in fe.masks]
        self.uniforms = [u[:n] for u in fe.uniforms]
        self.acts = [a[:n] for a in fe.acts]
        self.grads = [g[:n] for g in fe.grads]
        self.grads_t = [g.t() for g in self.grads]
        self.dacts = [d[:n] for d in fe.dacts]
        self.inputs = [self.xb, *(self.acts if fe.p > 0 else self.z[:-1])]  # A_0 = x, A_l = H_l * M_l
        self.total_weight = torch.tensor(float(n), device=fe.x.device)  # nll_loss's divisor (no ignored labels)


class FastMLPEpoch:
    """One training epoch of ``model`` (an :class:`MLP`) on ``x``, ``y`` with optimizer ``opt``.

    ``run(order)`` steps through ``order`` in minibatches of ``batch_size`` and returns, as tensors,
    the epoch's sum of (objective x batch size), the number of correct training predictions and the
    last minibatch's objective, as the autograd path does (docs/science.md §2)."""

    def __init__(self, model: MLP, x: torch.Tensor, y: torch.Tensor, *, l1: float, l2: float,
                 batch_size: int, opt: torch.optim.Optimizer):
        self.model, self.x, self.y, self.opt = model, x, y, opt
        self.l1, self.l2, self.p = float(l1), float(l2), float(model.p)
        self.batch_size = int(batch_size)
        self.weights = [lin.weight for lin in model.linears]
        self.weights_t = [w.t() for w in self.weights]
        self.biases = [lin.bias for lin in model.linears]
        b, dev, f32 = self.batch_size, x.device, torch.float32
        widths = [lin.out_features for lin in model.linears]
        self.xb = torch.empty(b, x.shape[1], dtype=f32, device=dev)
        self.yb = torch.empty(b, dtype=y.dtype, device=dev)
        self.z = [torch.empty(b, w, dtype=f32, device=dev) for w in widths]  # pre-activations, then ReLU in place
        self.masks = [torch.empty(b, w, dtype=f32, device=dev) for w in widths[:-1]] if self.p > 0 else []
        self.acts = [torch.empty(b, w, dtype=f32, device=dev) for w in widths[:-1]] if self.p > 0 else []
        self.uniform_masks = (self.p > 0 and dev.type == "cpu" and len(widths) > 1
                              and uniform_masks_match(1 - self.p, (b, widths[0])))
        self.uniforms = [torch.empty(b, w, dtype=torch.float64, device=dev) for w in widths[:-1]] \
            if self.uniform_masks else []
        self.grads = [torch.empty(b, w, dtype=f32, device=dev) for w in widths]  # dL/dZ_l
        self.dacts = [torch.empty(b, w, dtype=f32, device=dev) for w in widths[:-1]]  # dL/dA_l
        self.signs = [torch.empty_like(w) for w in self.weights]
        self.wgrads = [torch.empty_like(w) for w in self.weights]
        for p in model.parameters():  # every step overwrites these; the optimizer reads them
            p.grad = torch.zeros_like(p)
        # the penalty's value: sum|W_l| = <W_l, sign W_l> and sum W_l^2 = <W_l, W_l>, weighted by l1, l2
        self.flat = [(w.view(-1), s.view(-1)) for w, s in zip(self.weights, self.signs)]
        coef = ([self.l1] * len(self.weights) if self.l1 else []) + ([self.l2] * len(self.weights) if self.l2 else [])
        self.pen_coef = torch.tensor(coef, dtype=f32, device=dev)
        self.pen_terms = torch.zeros(len(coef), dtype=f32, device=dev)
        self.pen_slots = list(self.pen_terms)
        self.two_l2 = torch.tensor(2 * self.l2, dtype=f32, device=dev)  # float32(2 l2) = 2 float32(l2), as autograd's
        self.l1_t = torch.tensor(self.l1, dtype=f32, device=dev)
        self.pen = torch.zeros((), dtype=f32, device=dev)
        self.one = torch.ones((), dtype=f32, device=dev)
        self._rows: dict[int, _Rows] = {}
        self._plan = None
        self._fused = None
        self._nll_backward = torch.ops.aten.nll_loss_backward.default
        self._relu_backward = torch.ops.aten.threshold_backward.grad_input

    # -------------------------------------------------------------- the optimizer
    def _fused_args(self):
        """The fused Adam kernel's arguments when ``opt`` is a plain ``Adam(fused=True)`` whose state
        exists (after its first ``step()``); ``None`` otherwise (then ``opt.step()`` is called).  The
        per-parameter step counters become views of one tensor, advanced by one operation."""
        opt = self.opt
        if not (isinstance(opt, torch.optim.Adam) and hasattr(torch, "_fused_adam_")
                and len(opt.param_groups) == 1):
            return None
        g = opt.param_groups[0]
        if not g.get("fused") or g["amsgrad"] or g["maximize"] or g.get("differentiable") or g.get("capturable") \
                or g.get("decoupled_weight_decay") or torch.is_tensor(g["lr"]) or torch.is_tensor(g["betas"][0]):
            return None
        params = g["params"]
        if any(p not in opt.state or "exp_avg" not in opt.state[p] or opt.state[p]["step"].ndim for p in params):
            return None
        st = [opt.state[p] for p in params]
        steps = torch.stack([s["step"] for s in st])
        for i, s in enumerate(st):
            s["step"] = steps[i]
        return (params, [p.grad for p in params], [s["exp_avg"] for s in st], [s["exp_avg_sq"] for s in st],
                [s["step"] for s in st], steps), g

    def _step(self):
        if self._fused is None:
            self.opt.step()  # the first step creates Adam's state
            self._fused = self._fused_args() or False
            return
        if self._fused is False:
            self.opt.step()
            return
        (params, grads, m, v, steps, all_steps), g = self._fused
        all_steps.add_(1)
        torch._fused_adam_(params, grads, m, v, [], steps, amsgrad=False, lr=g["lr"], beta1=g["betas"][0],
                           beta2=g["betas"][1], weight_decay=g["weight_decay"], eps=g["eps"], maximize=False,
                           grad_scale=None, found_inf=None)

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
        logits = torch.addmm(self.biases[last], r.inputs[last], self.weights_t[last], out=r.z[last])
        logp = torch.log_softmax(logits, 1)
        ce = torch._C._nn.nll_loss(logp, r.yb, None, 1, -100)  # mean reduction
        if self.pen_terms.numel():
            torch.add(ce, self._penalty_and_signs(), out=loss)
        else:
            loss.copy_(ce)
        torch.argmax(logits, 1, out=pred)
        # backward: dCE/dlogits as autograd computes it
        g = self._nll_backward(self.one, logp, r.yb, None, 1, -100, r.total_weight)
        torch._log_softmax_backward_data(g, logp, 1, torch.float32, out=r.grads[last])
        for layer in range(last, -1, -1):
            w, gw = self.weights[layer], self.weights[layer].grad
            if self.l2:  # the penalty's gradient first, then the product, in autograd's order
                torch.mul(w, self.two_l2, out=gw)
                if self.l1:
                    gw.add_(self.signs[layer], alpha=self.l1)
            elif self.l1:
                torch.mul(self.signs[layer], self.l1_t, out=gw)
            else:
                gw.zero_()
            gw.add_(torch.mm(r.grads_t[layer], r.inputs[layer], out=self.wgrads[layer]))
            torch.sum(r.grads[layer], 0, out=self.biases[layer].grad)
            if layer > 0:  # dL/dZ_{l-1} = (G_l W_l) * mask * [H > 0]
                da = torch.mm(r.grads[layer], w, out=r.dacts[layer - 1])
                if self.p > 0:
                    da.mul_(r.masks[layer - 1])
                self._relu_backward(da, r.z[layer - 1], 0, grad_input=r.grads[layer - 1])
        self._step()

    def _penalty_and_signs(self) -> torch.Tensor:
        """l1 * sum|W| + l2 * sum W^2 at the current weights (docs/science.md §2); fills ``self.signs``
        with sign(W) for the L1 gradient."""
        k = 0
        if self.l1:
            for w, s in self.flat:
                torch.sign(w, out=s)
                torch.dot(w, s, out=self.pen_slots[k])
                k += 1
        if self.l2:
            for w, _ in self.flat:
                torch.dot(w, w, out=self.pen_slots[k])
                k += 1
        return torch.dot(self.pen_terms, self.pen_coef, out=self.pen)
