"""The user's own trained models (config ``checkpoints``; README, "Your own models").

A checkpoint is a state dict (``torch.save(model.state_dict(), path)``, or a dict holding one
under ``state_dict``) loaded into the module that the user's factory builds, or a TorchScript
file whose weights are loaded the same way.  The factory is ``module:function`` (a module on
``sys.path`` or in the working directory) or ``path/to/file.py:function``.  The module sees inputs
of shape ``(K, *input_shape)`` (default: the dataset's image shape); the named ``layers`` are
submodules whose outputs are the hidden activity to analyse (channels are the units of a 4-d
output).  Every problem is reported with the file, the key and what to do, before any job runs.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

N_CLASSES = 10  # every supported dataset has ten classes


class InputShaped(nn.Module):
    """Feeds flat inputs (K, d), as the workflow stores them, to ``module`` as (K, *input_shape)."""

    def __init__(self, module: nn.Module, input_shape):
        super().__init__()
        self.module, self.input_shape = module, tuple(int(s) for s in input_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x.reshape(x.shape[0], *self.input_shape))


def import_factory(spec: str, workdir: str | Path = "."):
    """The callable named by ``module:function`` or ``path/to/file.py:function``."""
    target, _, func = spec.rpartition(":")
    try:
        if target.endswith(".py"):
            path = Path(workdir) / target if not Path(target).is_absolute() else Path(target)
            if not path.is_file():
                raise FileNotFoundError(f"no file {path}")
            loaded = importlib.util.spec_from_file_location(f"unitclust_factory_{path.stem}", path)
            module = importlib.util.module_from_spec(loaded)
            loaded.loader.exec_module(module)
        else:
            root = str(Path(workdir).resolve())
            if root not in sys.path:
                sys.path.append(root)
            module = importlib.import_module(target)
    except Exception as exc:
        raise ValueError(f"checkpoints.factory '{spec}': cannot import '{target}' ({type(exc).__name__}: {exc}); "
                         "give module:function with the module importable from the working directory, "
                         "or path/to/file.py:function") from exc
    fn = getattr(module, func, None)
    if not callable(fn):
        raise ValueError(f"checkpoints.factory '{spec}': '{target}' has no callable '{func}'")
    return fn


def _is_torchscript(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            return any(n.endswith("/constants.pkl") or n == "constants.pkl" for n in z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _state_dict(path: Path, fmt: str) -> dict:
    """The weights in a checkpoint file (state dict, a dict with ``state_dict``, or TorchScript)."""
    if fmt == "torchscript" or (fmt == "auto" and _is_torchscript(path)):
        return dict(torch.jit.load(str(path), map_location="cpu").state_dict())
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError("it holds no state dict (save it with torch.save(model.state_dict(), path))")
    return obj


def load_user_model(path: str | Path, spec: dict, workdir: str | Path = ".") -> nn.Module:
    """The factory's module with the weights of checkpoint ``path`` loaded, in eval mode."""
    if not spec.get("factory"):
        raise ValueError(f"checkpoints.factory is missing: the generic measures need the Python module; "
                         f"give module:function that builds it and the weights of {path} are loaded into it")
    module = import_factory(spec["factory"], workdir)(**spec.get("kwargs", {}))
    if not isinstance(module, nn.Module):
        raise ValueError(f"checkpoints.factory '{spec['factory']}' returned {type(module).__name__}, "
                         "not a torch nn.Module")
    try:
        weights = _state_dict(Path(path), spec.get("format", "auto"))
        module.load_state_dict(weights)
    except Exception as exc:
        raise ValueError(f"checkpoint {path} does not load into the module of '{spec['factory']}' "
                         f"({type(exc).__name__}: {str(exc).strip()[:600]}); check that the file holds this "
                         "architecture's weights and checkpoints.kwargs") from exc
    return module.eval()


def check_layers(module: nn.Module, layers, where: str) -> None:
    names = dict(module.named_modules())
    missing = [name for name in layers if name not in names]
    if missing:
        available = [n for n in names if n]
        raise ValueError(f"{where}: the model has no layer {', '.join(map(repr, missing))} (checkpoints.layers); "
                         f"its submodules are: {', '.join(available[:40])}{' ...' if len(available) > 40 else ''}")


def layer_widths(model: nn.Module, layers, x: torch.Tensor) -> list[int]:
    """Units of each analysed layer (the channel axis of a 4-d output), from one forward pass."""
    widths: dict[str, int] = {}
    hooks = [model.get_submodule(name).register_forward_hook(
        lambda _m, _i, out, name=name: widths.__setitem__(name, int(out.shape[1]))) for name in layers]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return [widths[name] for name in layers]


def wrapped_names(layers) -> list[str]:
    """The names of the user's ``layers`` inside :class:`InputShaped` (which holds their module as ``module``)."""
    return [f"module.{name}" for name in layers]


def wrapped(module: nn.Module, spec: dict, image_shape) -> tuple[InputShaped, list[str], tuple[int, ...]]:
    """The module fed flat inputs, the analysed layers' names in it, and the input shape used."""
    shape = tuple(spec.get("input_shape") or image_shape)
    return InputShaped(module, shape), wrapped_names(spec["layers"]), shape


def check_model(path, spec: dict, image_shape, workdir: str | Path = ".", where: str = "") -> nn.Module:
    """Load one checkpoint and check its layers and its output on inputs of the dataset's shape."""
    where = where or f"checkpoint {path}"
    module = load_user_model(path, spec, workdir)
    check_layers(module, spec["layers"], where)
    model, layers, shape = wrapped(module, spec, image_shape)
    d = int(np.prod(image_shape))
    if int(np.prod(shape)) != d:
        raise ValueError(f"{where}: checkpoints.input_shape {list(shape)} has {int(np.prod(shape))} values "
                         f"but the dataset's inputs have {d} (shape {list(image_shape)})")
    try:
        widths = layer_widths(model, layers, torch.zeros(2, d))
        out = model(torch.zeros(2, d))
    except Exception as exc:
        raise ValueError(f"{where}: the model fails on inputs of shape {[2, *shape]} ({type(exc).__name__}: "
                         f"{str(exc).strip()[:400]}); set checkpoints.input_shape to the shape of one input "
                         "it expects") from exc
    if tuple(out.shape) != (2, N_CLASSES):
        raise ValueError(f"{where}: the model's output has shape {list(out.shape)} for 2 inputs; it must "
                         f"return logits of shape [2, {N_CLASSES}]")
    if min(widths) < 1:
        raise ValueError(f"{where}: layer sizes {widths} (checkpoints.layers) include an empty layer")
    return model


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def model_from_external(ckpt: dict) -> nn.Module:
    """Rebuild an imported model (see :func:`unitclust.steps.import_one`) from the workflow's checkpoint."""
    h = ckpt["hparams"]
    module = import_factory(h["factory"], h.get("workdir", "."))(**h.get("kwargs", {}))
    module.load_state_dict(ckpt["state_dict"])
    return InputShaped(module.eval(), h["input_shape"]).eval()
