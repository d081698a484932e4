"""Seconds per training epoch: whole-tensor minibatches (ours) vs a per-item Dataset + DataLoader loop.

The paper's 784-64-64-10 net on MNIST-shaped synthetic data (54,000 x 784, batch 200),
same run, same threads; prints both times and the ratio.

    python benchmarks/train.py [--epochs 3] [--threads 2] [--n 54000]
"""
import argparse
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from unitclust.models import build_model
from unitclust.training import penalty


class PerItem(Dataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def epoch_ours(model, opt, x, y, gen, batch):
    order = torch.randperm(len(x), generator=gen)
    for i in range(0, len(x), batch):
        idx = order[i:i + batch]
        loss = F.cross_entropy(model(x[idx]), y[idx]) + penalty(model, 0.0, 1e-5)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def epoch_loader(model, opt, loader):
    for xb, yb in loader:
        loss = F.cross_entropy(model(xb), yb) + penalty(model, 0.0, 1e-5)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def timed(fn, epochs):
    fn()  # warm-up epoch, not timed
    t0 = time.perf_counter()
    for _ in range(epochs):
        fn()
    return (time.perf_counter() - t0) / epochs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=54000)
    ap.add_argument("--batch", type=int, default=200)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(a.n, 784, generator=g)
    y = torch.randint(0, 10, (a.n,), generator=g)

    m1 = build_model(784, [64, 64], 10, 0.1, seed=0)
    o1 = torch.optim.Adam(m1.parameters(), lr=1e-3)
    ours = timed(lambda: epoch_ours(m1, o1, x, y, g, a.batch), a.epochs)

    m2 = build_model(784, [64, 64], 10, 0.1, seed=0)
    o2 = torch.optim.Adam(m2.parameters(), lr=1e-3)
    loader = DataLoader(PerItem(x, y), batch_size=a.batch, shuffle=True, generator=g)
    base = timed(lambda: epoch_loader(m2, o2, loader), a.epochs)

    print(f"784-64-64-10, n={a.n}, batch={a.batch}, threads={a.threads}, epochs timed={a.epochs}")
    print(f"{'method':<28}{'s/epoch':>10}")
    print(f"{'whole-tensor (ours)':<28}{ours:>10.3f}")
    print(f"{'Dataset + DataLoader':<28}{base:>10.3f}")
    print(f"ratio (baseline / ours): {base / ours:.1f}x")


if __name__ == "__main__":
    main()
