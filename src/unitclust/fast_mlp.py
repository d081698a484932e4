"""A hand-written training epoch for the ReLU MLP: the same model as autograd, less overhead per step.

The training objective is the one of docs/science.md §2 (and :func:`unitclust.training.penalty`):

    loss = cross-entropy(logits, y) + l1 * sum|W| + l2 * sum W^2

over every weight matrix of the :class:`~unitclust.models.MLP` (output layer included, biases
excluded, no 1/2 factor).  :class:`FastMLPEpoch` runs one epoch of minibatch steps the way
:func:`unitclust.training.train`'s autograd path does, with the same data order (the epoch's
permutation, sliced into minibatches), the same dropout masks (drawn from the global torch RNG as
``nn.Dropout`` draws them: ``bernoulli_(1 - p)`` of the activity's shape, divided by ``1 - p``, layer
by layer) and the same optimizer object, but computes the gradients by hand into preallocated
buffers:

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
    """Whether :class:`FastMLPEpoch` can train ``model`` on inputs ``x``: exactly the paper's
    :class:`MLP` (not a subclass, which may change ``forward``), float32 parameters and 2-D
    float32 inputs on the parameters' device."""
    if type(model) is not MLP:
        return False
    params = list(model.parameters())
    return (x.ndim == 2 and x.dtype == torch.float32 and x.shape[1] == model.in_dim
            and all(p.dtype == torch.float32 and p.device == x.device for p in params))


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
        self.biases = [lin.bias for lin in model.linears]
        b, dev, f32 = self.batch_size, x.device, torch.float32
        widths = [lin.out_features for lin in model.linears]
        self.xb = torch.empty(b, x.shape[1], dtype=f32, device=dev)
        self.yb = torch.empty(b, dtype=y.dtype, device=dev)
        self.z = [torch.empty(b, w, dtype=f32, device=dev) for w in widths]  # pre-activations, then ReLU in place
        self.masks = [torch.empty(b, w, dtype=f32, device=dev) for w in widths[:-1]] if self.p > 0 else []
        self.acts = [torch.empty(b, w, dtype=f32, device=dev) for w in widths[:-1]] if self.p > 0 else []
        self.grads = [torch.empty(b, w, dtype=f32, device=dev) for w in widths]  # dL/dZ_l
        self.dacts = [torch.empty(b, w, dtype=f32, device=dev) for w in widths[:-1]]  # dL/dA_l
        self.signs = [torch.empty_like(w) for w in self.weights]
        self.wgrads = [torch.empty_like(w) for w in self.weights]
        for p in model.parameters():  # every step overwrites these; the optimizer reads them
            p.grad = torch.zeros_like(p)
        self.one = torch.ones((), dtype=torch.float32, device=dev)
        self._fused = None

    # -------------------------------------------------------------- the optimizer
    def _fused_args(self):
        """The fused Adam kernel's arguments when ``opt`` is a plain ``Adam(fused=True)`` whose state
        exists (after its first ``step()``); ``None`` otherwise (then ``opt.step()`` is called)."""
        opt = self.opt
        if not (isinstance(opt, torch.optim.Adam) and hasattr(torch, "_fused_adam_")
                and len(opt.param_groups) == 1):
            return None
        g = opt.param_groups[0]
        if not g.get("fused") or g["amsgrad"] or g["maximize"] or g.get("differentiable") or g.get("capturable") \
                or g.get("decoupled_weight_decay") or torch.is_tensor(g["lr"]) or torch.is_tensor(g["betas"][0]):
            return None
        params = g["params"]
        if any(p not in opt.state or "exp_avg" not in opt.state[p] for p in params):
            return None
        st = [opt.state[p] for p in params]
        return (params, [p.grad for p in params], [s["exp_avg"] for s in st], [s["exp_avg_sq"] for s in st],
                [s["step"] for s in st]), g

    def _step(self):
        if self._fused is None:
            self.opt.step()  # the first step creates Adam's state
            self._fused = self._fused_args() or False
            return
        if self._fused is False:
            self.opt.step()
            return
        (params, grads, m, v, steps), g = self._fused
        torch._foreach_add_(steps, 1)
        torch._fused_adam_(params, grads, m, v, [], steps, amsgrad=False, lr=g["lr"], beta1=g["betas"][0],
                           beta2=g["betas"][1], weight_decay=g["weight_decay"], eps=g["eps"], maximize=False,
                           grad_scale=None, found_inf=None)

    # -------------------------------------------------------------- one epoch
    @torch.no_grad()
    def run(self, order: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        dev = self.x.device
        loss_sum = torch.zeros((), dtype=torch.float64, device=dev)
        correct = torch.zeros((), dtype=torch.int64, device=dev)
        loss = torch.zeros((), device=dev)
        for i in range(0, len(order), self.batch_size):
            idx = order[i:i + self.batch_size]
            loss = self._minibatch(idx)
            loss_sum += loss * len(idx)
            correct += (self.z[-1][:len(idx)].argmax(1) == self.yb[:len(idx)]).sum()
        return loss_sum, correct, loss

    def _minibatch(self, idx: torch.Tensor) -> torch.Tensor:
        n, last = len(idx), len(self.weights) - 1
        xb, yb = self.xb[:n], self.yb[:n]
        torch.index_select(self.x, 0, idx, out=xb)
        torch.index_select(self.y, 0, idx, out=yb)
        # forward
        a, inputs = xb, []
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            inputs.append(a)
            z = self.z[l][:n]
            torch.addmm(b, a, w.t(), out=z)
            if l < last:
                z.relu_()
                if self.p > 0:  # nn.Dropout's draw: bernoulli(1 - p) of the activity's shape, / (1 - p)
                    mask = self.masks[l][:n]
                    mask.bernoulli_(1 - self.p).div_(1 - self.p)
                    a = torch.mul(z, mask, out=self.acts[l][:n])
                else:
                    a = z
        logits = self.z[last][:n]
        logp = torch.log_softmax(logits, 1)
        ce, total_weight = torch.ops.aten.nll_loss_forward(logp, yb, None, 1, -100)  # mean reduction
        loss = ce + self._penalty_and_signs()
        # backward: dCE/dlogits as autograd computes it
        g = torch.ops.aten.nll_loss_backward(self.one, logp, yb, None, 1, -100, total_weight)
        torch.ops.aten._log_softmax_backward_data.out(g, logp, 1, torch.float32, out=self.grads[last][:n])
        for l in range(last, -1, -1):
            w, gz = self.weights[l], self.grads[l][:n]
            gw = w.grad
            if self.l2:
                torch.mul(w, 2 * self.l2, out=gw)
                if self.l1:
                    gw.add_(self.signs[l], alpha=self.l1)
            elif self.l1:
                torch.mul(self.signs[l], self.l1, out=gw)
            else:
                gw.zero_()
            gw.add_(torch.mm(gz.t(), inputs[l], out=self.wgrads[l]))  # as autograd: (penalty grads) + product
            torch.sum(gz, 0, out=self.biases[l].grad)
            if l > 0:  # dL/dZ_{l-1} = (G_l W_l) * mask * [H > 0]
                da = torch.mm(gz, w, out=self.dacts[l - 1][:n])
                if self.p > 0:
                    da.mul_(self.masks[l - 1][:n])
                torch.ops.aten.threshold_backward.grad_input(da, self.z[l - 1][:n], 0, grad_input=self.grads[l - 1][:n])
        self._step()
        return loss

    def _penalty_and_signs(self) -> torch.Tensor | float:
        """l1 * sum|W| + l2 * sum W^2 at the current weights (docs/science.md §2); fills ``self.signs``
        with sign(W) for the L1 gradient."""
        total = 0.0
        if self.l1:
            abs_sum = 0.0
            for w, s in zip(self.weights, self.signs):
                torch.sign(w, out=s)
                abs_sum = abs_sum + torch.dot(w.view(-1), s.view(-1))
            total = total + self.l1 * abs_sum
        if self.l2:
            total = total + self.l2 * sum(torch.dot(w.view(-1), w.view(-1)) for w in self.weights)
        return total
