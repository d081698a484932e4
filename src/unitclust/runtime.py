"""Glue for ``workflow/scripts``: logging, thread limits and readable failures."""

from __future__ import annotations

import contextlib
import sys
import traceback


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
