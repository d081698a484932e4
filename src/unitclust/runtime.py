"""Glue for ``workflow/scripts``: logging, thread limits and readable failures."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
from pathlib import Path

AUDIT_ENV = "UNITCLUST_IMPORT_AUDIT"


def _record_imports(rule: str) -> None:
    """With $UNITCLUST_IMPORT_AUDIT set to a folder, record the top-level modules this job imported
    (tests/test_envs.py checks them against the rule's conda environment)."""
    folder = os.environ.get(AUDIT_ENV)
    if not folder:
        return
    from . import PRELOADED_MODULES

    names = sorted({name.split(".")[0] for name in list(sys.modules) if name not in PRELOADED_MODULES})
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / f"{rule}.{os.getpid()}.json").write_text(json.dumps({"rule": rule, "modules": names}))


def run_script(main, snakemake) -> None:
    """Run ``main(snakemake)`` with stdout/stderr going to the rule's log file.

    On failure the traceback goes to the log, a one-line reason to the real
    stderr (so it shows in Snakemake's own output), and the job exits 1;
    outputs are written atomically, so nothing half-written is left behind.
    """
    log = snakemake.log[0] if len(snakemake.log) else None
    stream = open(log, "w") if log else contextlib.nullcontext(sys.stderr)
    with stream as fh, contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
        try:
            main(snakemake)
            _record_imports(snakemake.rule)
        except Exception as exc:  # noqa: BLE001 - report every failure the same way
            traceback.print_exc()
            sys.__stderr__.write(f"\nERROR in rule {snakemake.rule}: {type(exc).__name__}: {exc}\n"
                                 + (f"(full traceback in {log})\n" if log else ""))
            sys.exit(1)


def set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(max(1, int(threads)))
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(1)
