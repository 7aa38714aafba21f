"""How the process uses the CPU: how many threads (the cores that are idle) and how memory is allocated.

Threads. Measured on this project's 2-core machine (bench/train_speed.py --busy-core, 256/256/32 VAE,
float32): with both cores free, 2 threads train fastest; with another process busy on one core, 2 spinning
threads fall to 623 target tokens/s while 1 thread keeps 4,404. So the default is the number of idle cores,
read from /proc/stat when training starts (`auto_threads`) and followed while it runs (`ThreadGovernor`).

Memory. Each training step and each scoring block allocates tensors of tens of MB (logits over a 10k
vocabulary). glibc serves allocations that large with mmap and returns them to the system when freed, so
every step pays the page faults of fresh memory: the importance-weighted NLL ran 1.4x faster when large
blocks are kept in the heap instead (`keep_large_allocations`, called when vae_core is imported; set
VAE_CORE_MALLOC=system to keep glibc's default). The price: the process keeps its peak memory.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import time

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3          # glibc mallopt parameters (malloc.h)


def keep_large_allocations() -> bool:
    """Ask glibc to serve large allocations from the heap and keep freed memory for reuse (mallopt), so big
    tensors allocated every step do not page-fault each time. Returns whether it took effect (False off
    glibc, or with VAE_CORE_MALLOC=system)."""
    if os.environ.get("VAE_CORE_MALLOC") == "system":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, 1 << 30)) and bool(mallopt(_M_TRIM_THRESHOLD, (1 << 31) - 1))


def _cpu_times() -> tuple[float, float] | None:
    """(busy, total) jiffies over all CPUs from /proc/stat, or None where it does not exist."""
    try:
        with open("/proc/stat") as f:
            vals = [float(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0.0)         # idle + iowait
    return sum(vals[:8]) - idle, sum(vals[:8])


def idle_cores(interval: float = 0.3) -> float | None:
    """Cores idle over `interval` seconds (0 .. os.cpu_count()), or None where it cannot be read."""
    a = _cpu_times()
    time.sleep(interval)
    b = _cpu_times()
    n = os.cpu_count() or 1
    if a is None or b is None or b[1] <= a[1]:
        return None
    busy = (b[0] - a[0]) / (b[1] - a[1])
    return n * (1.0 - busy)


def auto_threads(interval: float = 0.3) -> int:
    """Threads for this process: the idle cores, rounded, at least 1 (all cores where load cannot be read)."""
    n = os.cpu_count() or 1
    free = idle_cores(interval)
    return n if free is None else max(1, min(n, round(free)))


class ThreadGovernor:
    """Keeps a training process's thread count at the cores other processes leave idle, while it runs.

    OpenMP's default (spinning) wait policy is fastest on free cores, but when another process takes a
    core, 2 spinning threads fall from about 8,250 to 623 target tokens/s (256/256/32, float32), against
    4,404 for 1 thread. `check()`, called every few seconds, measures the load of *other* processes since the
    last call (all CPUs' busy time minus this process's own CPU time) and sets torch's thread count to the
    cores they leave, between 1 and `max_threads`. It needs /proc/stat; elsewhere it does nothing.
    """

    def __init__(self, max_threads: int, min_interval: float = 2.0):
        self.max_threads, self.min_interval = max_threads, min_interval
        self._last = self._sample()

    @staticmethod
    def _sample():
        t = _cpu_times()
        return None if t is None else (t[0], t[1], time.monotonic(), sum(os.times()[:2]))

    def check(self) -> int | None:
        """Adjust the thread count if the load changed; returns the new count when it changed, else None."""
        import torch
        now = self._sample()
        if now is None or self._last is None or now[2] - self._last[2] < self.min_interval:
            return None
        busy, total, wall, own = (a - b for a, b in zip(now, self._last))
        self._last = now
        if total <= 0:
            return None
        jiffies_per_s = total / max(wall, 1e-9) / (os.cpu_count() or 1)     # about 100 per core and second
        others = max(0.0, busy - own * jiffies_per_s) / total * (os.cpu_count() or 1)   # cores in use by others
        want = max(1, min(self.max_threads, round((os.cpu_count() or 1) - others)))
        if want != torch.get_num_threads():
            torch.set_num_threads(want)
            return want
        return None
