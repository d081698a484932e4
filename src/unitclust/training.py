"""Training protocol (docs/science.md §2) and the per-model metrics.

Loss = cross-entropy + l1 * sum|W| + l2 * sum W^2 over all weight matrices
(output layer included, biases excluded, no 1/2 factor); Adam; learning rate x
``lr_factor`` after ``lr_patience`` epochs without validation improvement;
early stopping after ``patience`` such epochs; the returned state is the one
with the lowest validation loss.  Minibatches are slices of whole tensors that
live on the device (no per-item Dataset/DataLoader).  The paper's MLP takes the hand-written
step of :mod:`unitclust.fast_mlp` (the same model up to float rounding, with less overhead per step;
docs/benchmarks.md has the numbers); other models, and ``TrainConfig(fast="off")``, take
autograd (:func:`autograd_epoch`).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from . import fast_mlp
from .settings import TrainingOptions

SPARSITY_THRESHOLD = 1e-3
EVAL_BATCH = 8192


ADAM_IMPLEMENTATIONS = ("default", "foreach", "fused")
HISTORY_COLUMNS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"]


_PAPER = TrainingOptions()


@dataclass(frozen=True)
class TrainConfig:
    """The training protocol (docs/science.md §2; defaults from :class:`unitclust.settings.TrainingOptions`);
    ``adam`` picks torch's Adam implementation (the same algorithm; ``fused`` is the fastest on CPU, see
    the README's benchmarks)."""

    lr: float = _PAPER.lr
    batch_size: int = _PAPER.batch_size
    max_epochs: int = _PAPER.max_epochs
    lr_factor: float = _PAPER.lr_factor
    lr_patience: int = _PAPER.lr_patience
    patience: int = _PAPER.patience
    monitor: str = _PAPER.monitor  # "objective" (CE + penalty) or "cross_entropy"
    adam: str = "fused"
    fast: str = "auto"  # "auto": the hand-written step of unitclust.fast_mlp for the plain MLP; "off": autograd


def make_adam(params, lr: float, implementation: str) -> torch.optim.Adam:
    """``torch.optim.Adam`` with one of :data:`ADAM_IMPLEMENTATIONS`."""
    if implementation not in ADAM_IMPLEMENTATIONS:
        raise ValueError(f"unknown Adam implementation {implementation!r}; allowed: {', '.join(ADAM_IMPLEMENTATIONS)}")
    options = {"default": {}, "foreach": {"foreach": True}, "fused": {"fused": True}}[implementation]
    return torch.optim.Adam(params, lr=lr, **options)


def penalty(model: nn.Module, l1: float, l2: float) -> torch.Tensor:
    """l1 * sum|W| + l2 * sum W^2 over the weights of ``model.weight_matrices()`` (linear and conv;
    docs/science.md §2)."""
    ws = model.weight_matrices()
    total = torch.zeros((), device=ws[0].device)
    if l1:
        total = total + l1 * sum(w.abs().sum() for w in ws)
    if l2:
        total = total + l2 * sum(w.pow(2).sum() for w in ws)
    return total


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Mean cross-entropy and accuracy in eval mode (dropout off)."""
    was_training = model.training
    model.eval()
    loss_sum, correct = 0.0, 0
    for i in range(0, len(x), EVAL_BATCH):
        logits = model(x[i:i + EVAL_BATCH])
        loss_sum += F.cross_entropy(logits, y[i:i + EVAL_BATCH], reduction="sum").item()
        correct += (logits.argmax(1) == y[i:i + EVAL_BATCH]).sum().item()
    model.train(was_training)
    n = max(len(x), 1)
    return loss_sum / n, correct / n


@torch.no_grad()
def weight_stats(model: nn.Module) -> dict[str, float]:
    """sum|W|, sum W^2, sparsity (fraction |w| < 1e-3) and the sum of nuclear norms, over weight matrices
    (a conv weight (out, in, k, k) as the matrix (out, in*k*k))."""
    ws = [w.detach().double().reshape(w.shape[0], -1) for w in model.weight_matrices()]
    n_total = sum(w.numel() for w in ws)
    return {
        "sum_abs_w": float(sum(w.abs().sum() for w in ws)),
        "sum_sq_w": float(sum(w.pow(2).sum() for w in ws)),
        "sparsity": float(sum((w.abs() < SPARSITY_THRESHOLD).sum() for w in ws)) / n_total,
        "nuclear_norm": float(sum(torch.linalg.matrix_norm(w.cpu(), ord="nuc") for w in ws)),
    }


def autograd_epoch(model: nn.Module, opt, x_tr, y_tr, order, *, l1: float, l2: float, batch_size: int):
    """One epoch of minibatch steps with autograd (any model): the minibatches are the slices of
    ``order``; returns the sum of (objective x batch size), the number of correct predictions and
    the last minibatch's objective, as tensors."""
    device = x_tr.device
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    loss = torch.zeros((), device=device)
    for i in range(0, len(order), batch_size):
        idx = order[i:i + batch_size]
        logits = model(x_tr[idx])
        loss = F.cross_entropy(logits, y_tr[idx]) + penalty(model, l1, l2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            loss_sum += loss.detach() * len(idx)
            correct += (logits.argmax(1) == y_tr[idx]).sum()
    return loss_sum, correct, loss


def train(model: nn.Module, x_tr, y_tr, x_val, y_val, *, l1: float, l2: float, seed: int,
          cfg: TrainConfig = TrainConfig(), on_epoch=None, x_bytes=None) -> dict:
    """Train ``model`` in place and load its best-validation state; returns the training record.

    The minibatch order is drawn from a generator seeded with ``seed`` and dropout
    masks from the global torch RNG seeded the same way, so a run is repeatable.
    Training stops early, flagged ``diverged``, when the loss becomes non-finite.
    The record's ``history`` has one row per epoch (:data:`HISTORY_COLUMNS`): the training
    objective and accuracy averaged over the epoch's minibatches (train mode, dropout on), the
    monitored validation loss, the validation accuracy, the learning rate used and the epoch's
    seconds; ``on_epoch(row)`` is called with each row as it is made.  ``train_path`` says which
    per-step code ran: ``fast_mlp`` (:mod:`unitclust.fast_mlp`, chosen for a plain float32
    :class:`~unitclust.models.MLP` unless ``cfg.fast == "off"``) or ``autograd``; both give the
    same model up to float rounding.  ``x_bytes`` = (uint8 levels, scale) with ``x_tr == levels.float()
    * scale``, as datasets are stored, lets the fast path gather minibatches as bytes.
    """
    if cfg.monitor not in ("objective", "cross_entropy"):
        raise ValueError(f"unknown monitor {cfg.monitor!r}; allowed: objective, cross_entropy")
    if cfg.fast not in ("auto", "off"):
        raise ValueError(f"unknown fast {cfg.fast!r}; allowed: auto, off")
    device = x_tr.device
    torch.manual_seed(int(seed))
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    opt = make_adam(model.parameters(), cfg.lr, cfg.adam)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=cfg.lr_factor,
                                                       patience=cfg.lr_patience)

    def val_loss() -> tuple[float, float]:
        ce, acc = evaluate(model, x_val, y_val)
        if cfg.monitor == "cross_entropy":
            return ce, acc
        with torch.no_grad():
            return ce + penalty(model, l1, l2).item(), acc

    path = "fast_mlp" if cfg.fast == "auto" and fast_mlp.supports(model, x_tr) else "autograd"
    fast = None
    if path == "fast_mlp":
        fast = fast_mlp.FastMLPEpoch(model, x_tr, y_tr, l1=l1, l2=l2, batch_size=cfg.batch_size, opt=opt,
                                     x_bytes=x_bytes)
        run_epoch = fast.run
    else:
        def run_epoch(order):
            return autograd_epoch(model, opt, x_tr, y_tr, order, l1=l1, l2=l2, batch_size=cfg.batch_size)

    best_loss, best_state, best_epoch = val_loss()[0], copy.deepcopy(model.state_dict()), 0
    stale, epochs, diverged = 0, 0, not math.isfinite(best_loss)
    history = []
    t0 = time.perf_counter()
    n = len(x_tr)
    while epochs < cfg.max_epochs and not diverged:
        t_epoch = time.perf_counter()
        lr = opt.param_groups[0]["lr"]
        model.train()
        order = torch.randperm(n, generator=gen).to(device)
        loss_sum, correct, loss = run_epoch(order)
        epochs += 1
        current, val_acc = val_loss()
        row = {"epoch": epochs, "train_loss": loss_sum.item() / n, "train_acc": correct.item() / n,
               "val_loss": current, "val_acc": val_acc, "lr": lr, "seconds": time.perf_counter() - t_epoch}
        history.append(row)
        if on_epoch is not None:
            on_epoch(row)
        if not math.isfinite(current) or not math.isfinite(loss.item()):
            diverged = True
            break
        sched.step(current)
        if current < best_loss:
            best_loss, best_state, best_epoch, stale = current, copy.deepcopy(model.state_dict()), epochs, 0
        else:
            stale += 1
            if stale >= cfg.patience:
                break
    if fast is not None:
        fast.close()
    model.load_state_dict(best_state)
    model.eval()
    return {"epochs": epochs, "best_epoch": best_epoch, "best_val_objective": best_loss,
            "diverged": bool(diverged), "train_seconds": time.perf_counter() - t0, "train_path": path,
            "history": history}


def model_metrics(model: nn.Module, splits: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> dict[str, float]:
    """Loss and accuracy on every split plus the weight statistics (docs/science.md §2)."""
    out: dict[str, float] = {}
    for name, (x, y) in splits.items():
        out[f"{name}_loss"], out[f"{name}_acc"] = evaluate(model, x, y)
    out.update(weight_stats(model))
    return out
