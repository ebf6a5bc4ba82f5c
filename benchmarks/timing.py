"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

__all__ = ["median_time", "interleaved_medians"]


def median_time(fn: Callable[[], object], reps: int) -> float:
    """Median wall time of ``reps`` calls of ``fn``, in seconds."""
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_medians(fns: dict[str, Callable[[], object]], reps: int, block: int = 20) -> dict[str, float]:
    """Median wall time of each function over ``reps`` calls, in seconds. The functions take turns
    in blocks of ``block`` consecutive calls, so that a drift in the machine's speed affects all
    alike while each still runs warm (thread pools, caches) as it would alone."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(max(1, reps // block)):
        for name, fn in fns.items():
            for _ in range(block):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}
