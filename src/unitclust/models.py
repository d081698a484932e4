"""The paper's multilayer perceptron (paper section 4.1, docs/science.md §2) and a small ReLU CNN.

MLP: Linear(d, h1) -> ReLU -> Dropout(p) -> ... -> Linear(h_L, o).  Hidden activity ``h_l`` is
the post-ReLU output of hidden layer ``l`` (dropout is the identity in eval mode, so it is also
the post-dropout activity the paper analyses).

CNN: per conv width c, Conv2d(kernel, 'same' padding) -> ReLU -> Dropout(p) -> MaxPool2d(pool);
then flatten -> per dense width Linear -> ReLU -> Dropout(p) -> Linear(o).  Every ReLU is a
module of ``relus``; its output is an analysed hidden activity (:attr:`hidden_layers`), whose
units are the channels of a conv layer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


def _widths(name: str, values) -> list[int]:
    out = [int(v) for v in values]
    if any(v < 1 for v in out) or any(v != float(w) for v, w in zip(out, values)):
        raise ValueError(f"{name} must be positive integers, got {list(values)}")
    return out


def _check_dropout(dropout) -> float:
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    return float(dropout)


class MLP(nn.Module):
    """ReLU MLP with dropout after every hidden ReLU.

    Parameters are stored in ``self.linears`` (an ``nn.ModuleList``); the
    state-dict keys are ``linears.{i}.weight`` / ``linears.{i}.bias``.  The ReLUs are the
    parameter-free modules ``relus.{i}`` (the analysed activities, :attr:`hidden_layers`).
    """

    def __init__(self, in_dim: int, hidden: Sequence[int], out_dim: int, dropout: float = 0.0):
        super().__init__()
        if in_dim < 1 or out_dim < 1 or any(int(h) < 1 for h in hidden):
            raise ValueError(f"layer widths must be positive, got in={in_dim} hidden={list(hidden)} out={out_dim}")
        self.p = _check_dropout(dropout)
        widths = [int(in_dim), *map(int, hidden), int(out_dim)]
        self.in_dim, self.hidden, self.out_dim = int(in_dim), [int(h) for h in hidden], int(out_dim)
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.relus = nn.ModuleList(nn.ReLU() for _ in self.hidden)
        self.drop = nn.Dropout(self.p)

    @property
    def hidden_layers(self) -> list[str]:
        """Module names of the analysed hidden activities (post-ReLU), in order."""
        return [f"relus.{i}" for i in range(len(self.hidden))]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for lin, relu in zip(self.linears[:-1], self.relus):
            x = self.drop(relu(lin(x)))
        return self.linears[-1](x)

    def hidden_activations(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Post-ReLU activity of every hidden layer (dropout not applied)."""
        hs = []
        for lin, relu in zip(self.linears[:-1], self.relus):
            x = relu(lin(x))
            hs.append(x)
        return hs

    def weight_matrices(self) -> list[torch.Tensor]:
        """All weight matrices, output layer included, biases excluded (docs/science.md §2)."""
        return [lin.weight for lin in self.linears]

    def hparams(self) -> dict:
        return {"type": "mlp", "in_dim": self.in_dim, "hidden": list(self.hidden), "out_dim": self.out_dim,
                "dropout": self.p}


class CNN(nn.Module):
    """ReLU conv net: conv blocks (Conv2d -> ReLU -> Dropout -> MaxPool2d) then dense ReLU layers.

    ``in_shape`` is (C, H, W) or (H, W) (one channel); :meth:`forward` takes inputs of shape
    (B, C*H*W) (flattened in CHW order) or (B, C, H, W).  Convs use padding ``kernel // 2``;
    pooling is skipped when ``pool == 1``.  Modules: ``convs.{i}``, ``linears.{j}`` (dense
    hidden layers, then the output layer), ``relus.{k}`` (conv ReLUs first, then dense ones).
    """

    def __init__(self, in_shape: Sequence[int], channels: Sequence[int], kernel: int, pool: int, out_dim: int,
                 dropout: float = 0.0, hidden: Sequence[int] = ()):
        super().__init__()
        shape = _widths("in_shape", in_shape)
        if len(shape) == 2:
            shape = [1, *shape]
        if len(shape) != 3:
            raise ValueError(f"in_shape must be (C, H, W) or (H, W), got {list(in_shape)}")
        self.channels = _widths("channels", channels)
        if not self.channels:
            raise ValueError("channels must name at least one conv layer")
        self.hidden = _widths("hidden", hidden)
        self.kernel, self.pool = _widths("kernel", [kernel])[0], _widths("pool", [pool])[0]
        self.out_dim = _widths("out_dim", [out_dim])[0]
        self.p = _check_dropout(dropout)
        self.in_shape = tuple(shape)
        c, h, w = shape
        for i in range(len(self.channels)):
            h, w = h + 2 * (self.kernel // 2) - self.kernel + 1, w + 2 * (self.kernel // 2) - self.kernel + 1
            if self.pool > 1:
                h, w = h // self.pool, w // self.pool
            if h < 1 or w < 1:
                raise ValueError(f"conv layer {i + 1} of {len(self.channels)}: a {self.kernel}x{self.kernel} kernel "
                                 f"and pooling by {self.pool} shrink the {shape[1]}x{shape[2]} input to {h}x{w}; "
                                 "use fewer conv layers, a smaller pool or larger inputs")
        self.flat_dim = self.channels[-1] * h * w
        self.convs = nn.ModuleList(nn.Conv2d(a, b, self.kernel, padding=self.kernel // 2)
                                   for a, b in zip([c, *self.channels[:-1]], self.channels))
        widths = [self.flat_dim, *self.hidden, self.out_dim]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.relus = nn.ModuleList(nn.ReLU() for _ in range(len(self.channels) + len(self.hidden)))
        self.drop = nn.Dropout(self.p)
        self.pooling = nn.MaxPool2d(self.pool) if self.pool > 1 else nn.Identity()

    @property
    def hidden_layers(self) -> list[str]:
        """Module names of the analysed hidden activities (every ReLU; conv layers first)."""
        return [f"relus.{i}" for i in range(len(self.relus))]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 2 and x.shape[1] == math.prod(self.in_shape):
            x = x.reshape(x.shape[0], *self.in_shape)
        elif tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(f"CNN expects inputs of shape (B, {math.prod(self.in_shape)}) or "
                             f"(B, {', '.join(map(str, self.in_shape))}), got {tuple(x.shape)}")
        relus = iter(self.relus)
        for conv in self.convs:
            x = self.pooling(self.drop(next(relus)(conv(x))))
        x = x.flatten(1)
        for lin in self.linears[:-1]:
            x = self.drop(next(relus)(lin(x)))
        return self.linears[-1](x)

    def weight_matrices(self) -> list[torch.Tensor]:
        """Every conv and linear weight, output layer included, biases excluded."""
        return [conv.weight for conv in self.convs] + [lin.weight for lin in self.linears]

    def hparams(self) -> dict:
        return {"type": "cnn", "in_shape": list(self.in_shape), "channels": list(self.channels),
                "kernel": self.kernel, "pool": self.pool, "hidden": list(self.hidden), "out_dim": self.out_dim,
                "dropout": self.p}


def model_from_hparams(hparams: dict) -> nn.Module:
    """The MLP or CNN described by ``hparams`` (as :meth:`MLP.hparams` / :meth:`CNN.hparams` write
    them; no ``type`` means an MLP, as in checkpoints written before CNNs existed)."""
    kind = hparams.get("type", "mlp")
    try:
        if kind == "mlp":
            return MLP(hparams["in_dim"], hparams["hidden"], hparams["out_dim"], hparams.get("dropout", 0.0))
        if kind == "cnn":
            return CNN(hparams["in_shape"], hparams["channels"], hparams["kernel"], hparams["pool"],
                       hparams["out_dim"], hparams.get("dropout", 0.0), hparams.get("hidden", ()))
    except KeyError as exc:
        raise ValueError(f"hparams of a {kind} model lack the key {exc.args[0]!r}: {hparams}") from None
    raise ValueError(f"unknown model type {kind!r} in hparams; expected 'mlp' or 'cnn'")


def build_model(arch: dict, in_shape: Sequence[int] | int, out_dim: int, dropout: float, seed: int) -> nn.Module:
    """Seeded construction of ``arch`` ({"type": "mlp", "hidden": [...]} or {"type": "cnn",
    "channels": [...], "kernel": 3, "pool": 2, "hidden": [...]}) for inputs of shape ``in_shape``
    (an MLP takes prod(in_shape) features).  Seed ``s`` gives the same initial weights for every
    dropout / L1 / L2 setting (paired seeds, docs/science.md §1)."""
    if not isinstance(arch, dict):
        raise TypeError(f"arch must be a dict such as {{'type': 'mlp', 'hidden': [64, 64]}}, got {arch!r} "
                        "(build_model(arch, in_shape, out_dim, dropout, seed))")
    in_shape = tuple(int(s) for s in in_shape) if hasattr(in_shape, "__iter__") else (int(in_shape),)
    kind, allowed = arch.get("type", "mlp"), {"type", "hidden", "channels", "kernel", "pool"}
    if kind not in ("mlp", "cnn"):
        raise ValueError(f"unknown model type {kind!r}; expected 'mlp' or 'cnn'")
    if set(arch) - allowed:  # an MLP ignores the cnn-only keys (the config schema fills in their defaults)
        raise ValueError(f"unknown key(s) {sorted(set(arch) - allowed)} in arch; allowed: {sorted(allowed)}")
    if ("hidden" if kind == "mlp" else "channels") not in arch:
        raise ValueError(f"a {kind} model needs '{'hidden' if kind == 'mlp' else 'channels'}' in arch, got {arch}")
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(int(seed))
    try:
        if kind == "mlp":
            return MLP(math.prod(in_shape), arch["hidden"], out_dim, dropout)
        return CNN(in_shape, arch["channels"], arch.get("kernel", 3), arch.get("pool", 2), out_dim, dropout,
                   arch.get("hidden", ()))
    finally:
        torch.random.set_rng_state(gen_state)
