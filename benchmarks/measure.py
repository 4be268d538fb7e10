"""Timing, memory and bandwidth measurements shared by the suites.

Times are wall-clock medians after warm-up (synchronising CUDA around each call). Peak memory is the
extra memory a call needs above what was resident before it: on CUDA from the caching allocator's
statistics, on Linux CPUs from the process's resident-set high-water mark (``VmHWM``), which is reset
before the call through ``/proc/self/clear_refs``, with glibc made to map and unmap every allocation above
128 KiB for the duration of that call only.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch


def _load_libc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        return libc if libc is not None and hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _load_libc()
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


@contextmanager
def _resident_set_follows_tensors() -> Iterator[None]:
    """Inside: glibc serves every allocation above 128 KiB by ``mmap`` and unmaps it on ``free``, and the free
    heap is handed back first (``malloc_trim``), so the resident set follows the tensors alive and its
    high-water mark measures a call's peak (otherwise freed blocks of up to 32 MiB stay resident and are reused
    unseen). On exit the thresholds go to 32 MiB / 64 MiB, where glibc's own adaptive thresholds settle: an
    ``mmap`` per allocation makes allocation-heavy training loops two to three times slower (a
    SheafRecommender epoch on MovieLens 100K: 4.3 s against 1.9 s), so timings must not run under it."""
    if _LIBC is None:
        yield
        return
    _LIBC.mallopt(_M_MMAP_THRESHOLD, 128 * 2**10)
    _LIBC.mallopt(_M_TRIM_THRESHOLD, 128 * 2**10)
    _LIBC.malloc_trim(0)
    try:
        yield
    finally:
        _LIBC.mallopt(_M_MMAP_THRESHOLD, 32 * 2**20)
        _LIBC.mallopt(_M_TRIM_THRESHOLD, 64 * 2**20)


@dataclass
class Timing:
    median_s: float
    std_s: float
    n: int


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn: Callable[[], object], device: torch.device, *, warmup: int = 2, min_repeats: int = 5,
              max_repeats: int = 30, budget_s: float = 3.0, single_s: float = 10.0) -> Timing:
    """Median wall time of ``fn()`` over at least ``min_repeats`` runs (more while under ``budget_s``).

    The first call is a warm-up and a probe: a call over one second is repeated three times, and a
    call over ``single_s`` is not repeated at all (its probe is the one sample, ``n = 1``; warm it up
    before, as :func:`peak_memory_mib` does)."""
    t0 = time.perf_counter()
    fn()
    _sync(device)
    first = time.perf_counter() - t0
    if first > single_s:
        return Timing(first, 0.0, 1)
    if first > 1.0:
        warmup, min_repeats = 1, 3
    for _ in range(warmup - 1):
        fn()
    _sync(device)
    samples: list[float] = []
    start = time.perf_counter()
    while len(samples) < min_repeats or (len(samples) < max_repeats and time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        samples.append(time.perf_counter() - t0)
    std = statistics.stdev(samples) if len(samples) > 1 else 0.0
    return Timing(statistics.median(samples), std, len(samples))


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def peak_memory_mib(fn: Callable[[], object], device: torch.device) -> float | None:
    """Extra memory (MiB) ``fn()`` needs at its peak above what was in use before; ``None`` where the
    platform gives no way to measure it."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        fn()
        torch.cuda.synchronize(device)
        return (torch.cuda.max_memory_allocated(device) - base) / 2**20
    try:
        with _resident_set_follows_tensors():
            Path("/proc/self/clear_refs").write_text("5")
            base = _status_kib("VmRSS")
            fn()
            return max(_status_kib("VmHWM") - base, 0) / 1024
    except OSError:
        return None


def copy_bandwidth_gbs(device: torch.device, nbytes: int = 512 * 2**20) -> float:
    """The machine's copy bandwidth: bytes read plus bytes written per second by ``dst.copy_(src)``."""
    src = torch.ones(nbytes // 4, device=device)
    dst = torch.empty_like(src)
    timing = time_call(lambda: dst.copy_(src), device, min_repeats=5, budget_s=2.0)
    return 2 * nbytes / timing.median_s / 1e9


def available_memory_bytes(device: torch.device) -> int:
    """Memory still free for a case's tensors (CUDA: free device memory; CPU: ``MemAvailable``)."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 8 * 2**30
