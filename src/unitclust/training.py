"""Training protocol (docs/science.md §2) and the per-model metrics.

Loss = cross-entropy + l1 * sum|W| + l2 * sum W^2 over all weight matrices
(output layer included, biases excluded, no 1/2 factor); Adam; learning rate x
``lr_factor`` after ``lr_patience`` epochs without validation improvement;
early stopping after ``patience`` such epochs; the returned state is the one
with the lowest validation loss.  Minibatches are slices of whole tensors that
live on the device (no per-item Dataset/DataLoader).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .models import MLP

SPARSITY_THRESHOLD = 1e-3
EVAL_BATCH = 8192


@dataclass(frozen=True)
class TrainConfig:
    lr: float = 1e-3
    batch_size: int = 200
    max_epochs: int = 500
    lr_factor: float = 0.25
    lr_patience: int = 3
    patience: int = 6
    monitor: str = "objective"  # "objective" (CE + penalty) or "cross_entropy"


def penalty(model: MLP, l1: float, l2: float) -> torch.Tensor:
    """l1 * sum|W| + l2 * sum W^2 over weight matrices (docs/science.md §2)."""
    ws = model.weight_matrices()
    total = torch.zeros((), device=ws[0].device)
    if l1:
        total = total + l1 * sum(w.abs().sum() for w in ws)
    if l2:
        total = total + l2 * sum(w.pow(2).sum() for w in ws)
    return total


@torch.no_grad()
def evaluate(model: MLP, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
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
def weight_stats(model: MLP) -> dict[str, float]:
    """sum|W|, sum W^2, sparsity (fraction |w| < 1e-3) and the sum of nuclear norms, over weight matrices."""
    ws = [w.detach().double() for w in model.weight_matrices()]
    n_total = sum(w.numel() for w in ws)
    return {
        "sum_abs_w": float(sum(w.abs().sum() for w in ws)),
        "sum_sq_w": float(sum(w.pow(2).sum() for w in ws)),
        "sparsity": float(sum((w.abs() < SPARSITY_THRESHOLD).sum() for w in ws)) / n_total,
        "nuclear_norm": float(sum(torch.linalg.matrix_norm(w.cpu(), ord="nuc") for w in ws)),
    }


def train(model: MLP, x_tr, y_tr, x_val, y_val, *, l1: float, l2: float, seed: int,
          cfg: TrainConfig = TrainConfig()) -> dict:
    """Train ``model`` in place and load its best-validation state; returns the training record.

    The minibatch order is drawn from a generator seeded with ``seed`` and dropout
    masks from the global torch RNG seeded the same way, so a run is repeatable.
    Training stops early, flagged ``diverged``, when the loss becomes non-finite.
    """
    if cfg.monitor not in ("objective", "cross_entropy"):
        raise ValueError(f"unknown monitor {cfg.monitor!r}; allowed: objective, cross_entropy")
    device = x_tr.device
    torch.manual_seed(int(seed))
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=cfg.lr_factor,
                                                       patience=cfg.lr_patience)

    def val_loss() -> float:
        ce, _ = evaluate(model, x_val, y_val)
        if cfg.monitor == "cross_entropy":
            return ce
        with torch.no_grad():
            return ce + penalty(model, l1, l2).item()

    best_loss, best_state, best_epoch = val_loss(), copy.deepcopy(model.state_dict()), 0
    stale, epochs, diverged = 0, 0, not math.isfinite(best_loss)
    t0 = time.perf_counter()
    n = len(x_tr)
    while epochs < cfg.max_epochs and not diverged:
        model.train()
        order = torch.randperm(n, generator=gen).to(device)
        for i in range(0, n, cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            loss = F.cross_entropy(model(x_tr[idx]), y_tr[idx]) + penalty(model, l1, l2)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        epochs += 1
        current = val_loss()
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
    model.load_state_dict(best_state)
    model.eval()
    return {"epochs": epochs, "best_epoch": best_epoch, "best_val_objective": best_loss,
            "diverged": bool(diverged), "train_seconds": time.perf_counter() - t0}


def model_metrics(model: MLP, splits: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> dict[str, float]:
    """Loss and accuracy on every split plus the weight statistics (docs/science.md §2)."""
    out: dict[str, float] = {}
    for name, (x, y) in splits.items():
        out[f"{name}_loss"], out[f"{name}_acc"] = evaluate(model, x, y)
    out.update(weight_stats(model))
    return out
