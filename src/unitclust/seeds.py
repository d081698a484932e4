"""Stable seeds for the random parts of the workflow (the clustering's Algorithms 1-3)."""

from __future__ import annotations

import hashlib

import numpy as np

_SEED_DOMAIN = "unitclust.stable_seed.v1"


def _canon_part(x):
    """``x`` with numpy scalars made Python scalars and lists made tuples, recursively."""
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, (tuple, list)):
        return tuple(_canon_part(v) for v in x)
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    raise TypeError(f"stable_seed: unsupported identity part {x!r} of type {type(x).__name__}")


def stable_seed(*parts) -> int:
    """Stable 63-bit seed from an identity tuple, e.g. ``(config_seed, model_id, layer, measure)``.

    blake2b of the canonical ``repr`` of the parts (numpy scalars -> Python scalars, lists ->
    tuples): the same identity gives the same seed on every machine and Python run (unlike
    ``hash``).  Supports None, bool, int, float, str and nested tuples/lists of them.
    """
    text = repr((_SEED_DOMAIN, _canon_part(parts)))
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & (2**63 - 1)
