"""Networks rebuilt from the workflow's checkpoints (the file format itself is in :mod:`unitclust.io`).

A checkpoint's ``hparams`` say which network it holds: the MLP or CNN of :mod:`unitclust.models`,
or (``type: external``) a user's own module, rebuilt by its factory (:mod:`unitclust.external`).
This module sits above both and above :mod:`unitclust.io`, which stays a leaf.  It also checks
a user's own checkpoints before anything is trained (the ``check_checkpoints`` job).
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


def check_checkpoints(checkpoint_paths, out_path, *, checkpoints: dict, experiment: str, dataset: str) -> dict:
    """Load every one of an experiment's own checkpoints into the factory's module and check its
    layers and its output on inputs of the dataset's shape (before anything is trained); write a
    summary (file, sha256) as JSON."""
    from . import io
    from .data import image_shape
    from .external import check_model, sha256

    shape = image_shape(dataset)
    summary = {"experiment": experiment, "dataset": dataset, "factory": checkpoints.get("factory"),
               "layers": list(checkpoints["layers"]), "checked": []}
    for path in checkpoint_paths:
        check_model(path, checkpoints, shape, where=f"experiment '{experiment}', checkpoint {path}")
        summary["checked"].append({"file": str(path), "sha256": sha256(path)})
        print(f"{path}: loads into {checkpoints.get('factory')}, layers {list(checkpoints['layers'])}, "
              f"10 logits on inputs of shape {list(shape)}")
    io.write_json(out_path, {**summary, **io.provenance()})
    print(f"{len(summary['checked'])} checkpoints of experiment '{experiment}' passed")
    return summary
