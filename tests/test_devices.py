"""GPU leases, exercised on CPU with fake device counts and real processes."""
import multiprocessing as mp
import os
import signal
import time

import pytest

from unitclust.devices import lease_device


def test_cpu_without_cuda(tmp_path):
    with lease_device("auto", device_count=0, lock_dir=tmp_path) as dev:
        assert dev == "cpu"
    with lease_device("cpu", device_count=4, lock_dir=tmp_path) as dev:
        assert dev == "cpu"


def test_cuda_requested_but_absent(tmp_path):
    with pytest.raises(RuntimeError, match="no CUDA device"):
        with lease_device("cuda", device_count=0, lock_dir=tmp_path):
            pass


def test_nested_leases_get_distinct_devices_then_time_out(tmp_path):
    with lease_device(device_count=2, lock_dir=tmp_path) as a, lease_device(device_count=2, lock_dir=tmp_path) as b:
        assert {a, b} == {"cuda:0", "cuda:1"}
        with pytest.raises(TimeoutError):
            with lease_device(device_count=2, lock_dir=tmp_path, timeout=0.3, poll=0.05):
                pass
    with lease_device(device_count=2, lock_dir=tmp_path, timeout=1) as c:  # released on exit
        assert c == "cuda:0"


def test_lock_names_follow_cuda_visible_devices(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,7")
    with lease_device(device_count=2, lock_dir=tmp_path) as dev:
        assert dev == "cuda:0" and (tmp_path / "gpu-5.lock").exists()


def _hold(lock_dir, queue, seconds):
    with lease_device(device_count=2, lock_dir=lock_dir) as dev:
        queue.put((os.getpid(), dev, time.monotonic()))
        time.sleep(seconds)
        queue.put((os.getpid(), "released", time.monotonic()))


def test_two_processes_never_share_a_device(tmp_path):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_hold, args=(str(tmp_path), q, 1.0)) for _ in range(3)]
    for p in procs:
        p.start()
    events = [q.get(timeout=60) for _ in range(6)]
    for p in procs:
        p.join(30)
    held: dict[str, int] = {}
    for pid, what, _ in sorted(events, key=lambda e: e[2]):
        if what == "released":
            held = {d: p for d, p in held.items() if p != pid}
        else:
            assert what not in held, f"{what} leased twice at once"
            held[what] = pid
    assert {e[1] for e in events if e[1] != "released"} <= {"cuda:0", "cuda:1"}


def test_killed_job_frees_its_device(tmp_path):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    holders = [ctx.Process(target=_hold, args=(str(tmp_path), q, 600)) for _ in range(2)]
    for p in holders:
        p.start()
    got = [q.get(timeout=60) for _ in range(2)]
    victim = got[0]
    os.kill(victim[0], signal.SIGKILL)
    with lease_device(device_count=2, lock_dir=tmp_path, timeout=20, poll=0.05) as dev:
        assert dev == victim[1]
    for p in holders:
        if p.is_alive():
            os.kill(p.pid, signal.SIGKILL)
        p.join(10)


def test_slurm_allocation_is_trusted_without_locks(tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    with lease_device(device_count=1, lock_dir=tmp_path) as a, lease_device(device_count=1, lock_dir=tmp_path) as b:
        assert a == b == "cuda:0"
    assert not list(tmp_path.iterdir())
