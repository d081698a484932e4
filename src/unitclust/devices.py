"""Exclusive GPU leases for concurrent Snakemake jobs.

Snakemake's ``--resources gpu=k`` bounds how many GPU jobs run at once but does
not say *which* device each job gets.  A job calls :func:`lease_device`; with k
visible CUDA devices it takes the first one whose lock file it can ``flock``
exclusively and holds the lock for its whole life.  The kernel drops the lock
when the process dies (even on SIGKILL), so a killed job frees its device.
Without CUDA the lease is simply ``"cpu"``; inside a Slurm job (``SLURM_JOB_ID`` set) the
scheduler's allocation is exclusive already and the job uses its first visible GPU.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

LOCK_DIR_ENV = "UNITCLUST_LOCK_DIR"


def default_lock_dir() -> Path:
    return Path(os.environ.get(LOCK_DIR_ENV) or Path(tempfile.gettempdir()) / f"unitclust-gpu-locks-{os.getuid()}")


def _device_names(count: int) -> list[str]:
    """Stable physical names of the visible devices: CUDA_VISIBLE_DEVICES entries when set."""
    visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    return visible[:count] if len(visible) >= count else [str(i) for i in range(count)]


def cuda_device_count() -> int:
    """Number of visible CUDA devices (0 without CUDA)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


@contextlib.contextmanager
def lease_device(want: str = "auto", device_count: int | None = None, lock_dir: str | os.PathLike | None = None,
                 timeout: float | None = None, poll: float = 0.2) -> Iterator[str]:
    """Yield a torch device string (``"cuda:i"`` or ``"cpu"``) held exclusively until exit.

    ``want``: ``"auto"`` (a free GPU if any CUDA device is visible, else CPU), ``"cpu"``, or ``"cuda"``
    (error when no CUDA device is visible).  ``device_count`` overrides CUDA detection (tests).
    Waits, polling, while every device is leased; ``timeout`` seconds (None = forever) then TimeoutError.
    """
    if want not in ("auto", "cpu", "cuda"):
        raise ValueError(f"unknown device request {want!r}; allowed: auto, cpu, cuda")
    if want == "cpu":
        yield "cpu"
        return
    count = cuda_device_count() if device_count is None else int(device_count)
    if count == 0:
        if want == "cuda":
            raise RuntimeError("device: cuda was requested but no CUDA device is visible")
        yield "cpu"
        return
    if os.environ.get("SLURM_JOB_ID"):
        # Under Slurm the scheduler already gives each job its own GPU(s); node-local locks
        # could only make jobs whose devices are renumbered from 0 wait for each other.
        yield "cuda:0"
        return
    folder = Path(lock_dir) if lock_dir is not None else default_lock_dir()
    folder.mkdir(parents=True, exist_ok=True)
    names = _device_names(count)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        for index, name in enumerate(names):
            fh = open(folder / f"gpu-{name}.lock", "a+")
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.close()
                continue
            try:
                fh.seek(0)
                fh.truncate()
                fh.write(f"{os.getpid()}\n")
                fh.flush()
                yield f"cuda:{index}"
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
                fh.close()
            return
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"no free GPU among {count} after {timeout} s (locks in {folder})")
        time.sleep(poll)
