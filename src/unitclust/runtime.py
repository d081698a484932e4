"""Glue for ``workflow/scripts``: the job log, thread limits and readable failures."""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
from pathlib import Path


def _describe(snakemake) -> str:
    """What the job is: rule, wildcards, inputs, parameters and outputs, one per line."""
    lines = [f"rule {snakemake.rule}"]
    wildcards = dict(snakemake.wildcards.items())
    if wildcards:
        lines.append(f"wildcards: {wildcards}")
    for label, files in (("input", snakemake.input), ("output", snakemake.output)):
        files = list(files)
        shown = files if len(files) <= 6 else files[:3] + [f"... ({len(files)} files)"] + files[-2:]
        lines.append(f"{label}: " + ", ".join(map(str, shown)))
    params = {k: v for k, v in snakemake.params.items()}
    if params:
        lines.append("params: " + ", ".join(f"{k}={v!r}" for k, v in params.items()))
    lines.append(f"threads: {snakemake.threads}")
    return "\n".join(lines)


def run_script(main, snakemake) -> None:
    """Run ``main(snakemake)`` with stdout/stderr going to the rule's log file.

    The log starts with what the job is (rule, wildcards, inputs, params, outputs) and ends with
    its wall time; ``main`` prints its own result summary in between.  On failure the traceback
    goes to the log, a one-line reason to the real stderr (so it shows in Snakemake's output),
    and the job exits 1; outputs are written atomically, so nothing half-written is left behind.
    A job that succeeded ends its process at once (:func:`end_process`).
    """
    removed = remove_stale_temporaries(snakemake.output)
    log = snakemake.log[0] if len(snakemake.log) else None
    stream = open(log, "w") if log else contextlib.nullcontext(sys.stderr)
    with stream as fh, contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
        t0 = time.perf_counter()
        print(_describe(snakemake), flush=True)
        if removed:
            print("removed temporary files of an interrupted earlier run: " + ", ".join(map(str, removed)))
        try:
            main(snakemake)
        except Exception as exc:  # noqa: BLE001 - report every failure the same way
            traceback.print_exc()
            sys.__stderr__.write(f"\nERROR in rule {snakemake.rule}: {type(exc).__name__}: {exc}\n"
                                 + (f"(full traceback in {log})\n" if log else ""))
            sys.exit(1)
        print(f"done in {time.perf_counter() - t0:.2f} s", flush=True)
    end_process()


def end_process(code: int = 0) -> None:
    """Flush the standard streams and end the process with ``code`` without the interpreter's teardown.

    Called by :func:`run_script` once a job's outputs are written and closed: the teardown of a process
    that imported torch (freeing every module, the atexit hooks of the libraries) is part of every job's
    cost and changes nothing on disk.  Nothing of the job is lost: its outputs are closed and renamed
    into place by then (``unitclust.io.atomic_path``) and its log is closed.  Measured in
    ``docs/benchmarks.md``."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def remove_stale_temporaries(outputs) -> list[Path]:
    """Delete ``.<name>.*.part`` files beside each output: the atomic writer's temporary files
    (``unitclust.io.atomic_path``) left by a job that was killed mid-write.  Snakemake runs one
    job per output at a time, so no live writer owns them."""
    removed = []
    for out in outputs:
        out = Path(out)
        for tmp in out.parent.glob(f".{out.name}.*.part") if out.parent.is_dir() else ():
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
                removed.append(tmp)
    return removed


def configure_torch(threads: int) -> bool:
    """Set up torch for a CPU-friendly job: ``threads`` intra-op threads, one inter-op thread,
    and subnormal floats flushed to zero (x86 CPUs process subnormals very slowly; weights,
    gradients and Adam's moments drift into that range as training goes on; see the README).
    Returns whether subnormals are now flushed, as observed on a float32 product.  Optimizers are
    set to run without importing ``torch._dynamo`` (:func:`skip_dynamo_import`)."""
    import torch

    skip_dynamo_import()
    torch.set_num_threads(max(1, int(threads)))
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(1)
    torch.set_flush_denormal(True)
    return denormals_flushed()


def denormals_flushed() -> bool:
    """True when a float32 product of a subnormal number gives exactly zero on the CPU."""
    import torch

    return bool((torch.tensor([1e-39], dtype=torch.float32) * 2.0).item() == 0.0)


DYNAMO_WRAPPED = ("add_param_group", "zero_grad", "state_dict", "load_state_dict")


def skip_dynamo_import() -> int:
    """Let ``torch.optim`` optimizers run without importing ``torch._dynamo`` (1-3 s per process).

    PyTorch wraps some ``Optimizer`` methods (:data:`DYNAMO_WRAPPED`) in ``torch._disable_dynamo``,
    whose first call imports ``torch._dynamo`` only to mark the method as not to be compiled, and
    caches the marked function on it as ``__dynamo_disable``.  A job compiles nothing, so the plain
    function serves as that mark: storing it in the cache skips the import and changes nothing else.
    Returns how many methods were marked (0 where ``torch._dynamo`` is already loaded or this
    torch lays the wrappers out otherwise; then the import simply happens)."""
    import torch

    if "torch._dynamo" in sys.modules:
        return 0
    marked = 0
    for name in DYNAMO_WRAPPED:
        wrapper = getattr(torch.optim.Optimizer, name, None)
        fn = getattr(wrapper, "__wrapped__", None)
        code = getattr(wrapper, "__code__", None)
        if fn is not None and code is not None and Path(code.co_filename).name == "_compile.py":
            setattr(fn, "__dynamo_disable", fn)  # the name torch._compile caches the marked function under
            marked += 1
    return marked
