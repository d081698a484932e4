"""Networks rebuilt from the workflow's checkpoints (the file format itself is in :mod:`unitclust.io`).

A checkpoint's ``hparams`` say which network it holds: the MLP or CNN of :mod:`unitclust.models`,
or (``type: external``) a user's own module, rebuilt by its factory (:mod:`unitclust.external`).
This module sits above both and above :mod:`unitclust.io`, which stays a leaf.
"""

from __future__ import annotations

from .external import model_from_external, wrapped_names
from .models import model_from_hparams


def model_from_checkpoint(ckpt: dict):
    """The network described by a checkpoint's hparams (MLP, CNN or the user's own module), weights loaded."""
    if ckpt["hparams"].get("type") == "external":
        return model_from_external(ckpt)
    model = model_from_hparams(ckpt["hparams"])
    model.load_state_dict(ckpt["state_dict"])
    return model


def analysed_layers(model, ckpt: dict) -> tuple[list[str], list[str]]:
    """(module names in ``model``, names to record) of the hidden layers the similarity job analyses."""
    h = ckpt["hparams"]
    if h.get("type") == "external":
        return wrapped_names(h["layers"]), list(h["layers"])
    return list(model.hidden_layers), list(model.hidden_layers)
