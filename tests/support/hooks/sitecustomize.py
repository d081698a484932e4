"""Test-only hooks loaded into every job that a test's Snakemake run starts.

The tests put this folder on ``PYTHONPATH``; Python then imports this module at start-up.
Nothing here is part of the package.  Two hooks, each switched on by an environment variable:

* ``UNITCLUST_IMPORT_AUDIT=<folder>``: when the job first imports ``unitclust``, note the
  modules already loaded (Snakemake's preamble); at exit, write the top-level modules the job
  imported beyond those to ``<folder>/<rule>.<pid>.json`` (tests/test_envs.py checks them
  against the rule's conda environment).  A finished job ends without running atexit hooks
  (``unitclust.runtime.end_process``), so the audit is also written just before that.
* ``UNITCLUST_FAKE_GPUS=<k>``: ``unitclust.devices.lease_device`` leases among k pretend GPUs
  with its real lock files, records ``{device, start, end}`` to
  ``<UNITCLUST_LEASE_RECORDS>/<pid>.json`` and lets the job compute on the CPU.
"""
import atexit
import contextlib
import importlib.abc
import json
import os
import sys
import time
from pathlib import Path

AUDIT = os.environ.get("UNITCLUST_IMPORT_AUDIT")
FAKE_GPUS = os.environ.get("UNITCLUST_FAKE_GPUS")
LEASE_RECORDS = os.environ.get("UNITCLUST_LEASE_RECORDS")


def _write_audit(preloaded):
    main = sys.modules.get("__main__")
    rule = getattr(getattr(main, "snakemake", None), "rule", None)
    if rule is None:
        return
    names = sorted({n.split(".")[0] for n in list(sys.modules) if n not in preloaded})
    Path(AUDIT).mkdir(parents=True, exist_ok=True)
    (Path(AUDIT) / f"{rule}.{os.getpid()}.json").write_text(json.dumps({"rule": rule, "modules": names}))


_PRELOADED = []


def _on_unitclust(module):
    if AUDIT:
        _PRELOADED.append(frozenset(sys.modules))
        atexit.register(_write_audit, _PRELOADED[0])


def _on_runtime(module):
    if not AUDIT:
        return
    end = module.end_process

    def audited_end(code=0):
        if _PRELOADED:
            _write_audit(_PRELOADED[0])
        end(code)

    module.end_process = audited_end


def _on_devices(module):
    if not FAKE_GPUS:
        return
    real = module.lease_device

    @contextlib.contextmanager
    def fake_lease(want="auto", device_count=None, **kw):
        count = int(FAKE_GPUS) if device_count is None else device_count
        with real(want, device_count=count, **kw) as device:
            start = time.time()
            yield "cpu"
            record = {"device": device, "start": start, "end": time.time(), "pid": os.getpid()}
        if LEASE_RECORDS:
            Path(LEASE_RECORDS).mkdir(parents=True, exist_ok=True)
            (Path(LEASE_RECORDS) / f"{os.getpid()}.{start}.json").write_text(json.dumps(record))

    module.lease_device = fake_lease


HOOKS = {"unitclust": _on_unitclust, "unitclust.runtime": _on_runtime, "unitclust.devices": _on_devices}


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs ``HOOKS[name](module)`` right after the module ``name`` is first executed."""

    def find_spec(self, name, path, target=None):
        if name not in HOOKS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                break
        else:
            return None
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            HOOKS[name](module)

        spec.loader.exec_module = exec_module
        return spec


if AUDIT or FAKE_GPUS:
    sys.meta_path.insert(0, _AfterImport())
