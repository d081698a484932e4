"""The paper's multilayer perceptron (paper section 4.1, docs/science.md §2).

Linear(d, h1) -> ReLU -> Dropout(p) -> ... -> Linear(h_L, o).  Hidden activity
``h_l`` is the post-ReLU output of hidden layer ``l`` (dropout is the identity
in eval mode, so it is also the post-dropout activity the paper analyses).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class MLP(nn.Module):
    """ReLU MLP with dropout after every hidden ReLU.

    Parameters are stored in ``self.linears`` (an ``nn.ModuleList``); the
    state-dict keys are ``linears.{i}.weight`` / ``linears.{i}.bias``.
    """

    def __init__(self, in_dim: int, hidden: Sequence[int], out_dim: int, dropout: float = 0.0):
        super().__init__()
        if in_dim < 1 or out_dim < 1 or any(int(h) < 1 for h in hidden):
            raise ValueError(f"layer widths must be positive, got in={in_dim} hidden={list(hidden)} out={out_dim}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        widths = [int(in_dim), *map(int, hidden), int(out_dim)]
        self.in_dim, self.hidden, self.out_dim = int(in_dim), [int(h) for h in hidden], int(out_dim)
        self.p = float(dropout)
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.drop = nn.Dropout(self.p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for lin in self.linears[:-1]:
            x = self.drop(torch.relu(lin(x)))
        return self.linears[-1](x)

    def hidden_activations(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Post-ReLU activity of every hidden layer (dropout not applied)."""
        hs = []
        for lin in self.linears[:-1]:
            x = torch.relu(lin(x))
            hs.append(x)
        return hs

    def weight_matrices(self) -> list[torch.Tensor]:
        """All weight matrices, output layer included, biases excluded (docs/science.md §2)."""
        return [lin.weight for lin in self.linears]

    def hparams(self) -> dict:
        return {"in_dim": self.in_dim, "hidden": list(self.hidden), "out_dim": self.out_dim, "dropout": self.p}


def build_model(in_dim: int, hidden: Sequence[int], out_dim: int, dropout: float, seed: int) -> MLP:
    """Seeded construction: seed ``s`` gives the same initial weights for every
    dropout / L1 / L2 setting (paired seeds, docs/science.md §1)."""
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(int(seed))
    try:
        return MLP(in_dim, hidden, out_dim, dropout)
    finally:
        torch.random.set_rng_state(gen_state)
