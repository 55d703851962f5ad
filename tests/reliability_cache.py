"""Concurrent opens of a fresh score cache: how many processes hit a lock error, how many fell back to no cache.

A harness shared by the tests and `benchmarks/reliability.py` (which reports its counts).

Each round starts `processes` processes on one new cache file behind a barrier, so they open it at the same instant;
each then writes and reads back one entry. A lock error is an open (or that first write) that gave up on the lock;
a fallback is any cache that set itself aside (locked, damaged or unwritable). Both should be zero.
"""
from __future__ import annotations

import multiprocessing
import sys
import tempfile
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _open_once(path: str, barrier, results) -> None:
    import numpy as np

    from router_core.model.score_cache import ScoreCache, ScoreCacheWarning
    from router_core.model.scores import RawScore

    score = RawScore(*(np.full(shape, 0.5, np.float32) for shape in ((2,), (2,), (2,), (1, 2), (4,))))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScoreCacheWarning)
        barrier.wait()
        try:
            cache = ScoreCache(path)
            key = f"k{multiprocessing.current_process().pid}"
            cache.put_many("bench/torch", {key: score})
            readable = key in cache.get_many("bench/torch", [key])
            outcome = {"enabled": cache.enabled, "readable": readable, "reason": cache.disabled_reason, "crash": None}
            cache.close()
        except Exception as e:  # counted, not hidden: any exception here is a bug the table must show
            outcome = {"enabled": False, "readable": False, "reason": None, "crash": f"{type(e).__name__}: {e}"}
    outcome["warnings"] = [str(w.message) for w in caught if issubclass(w.category, ScoreCacheWarning)]
    results.put(outcome)


def concurrent_cache_opens(processes: int = 6, rounds: int = 20) -> dict:
    """`rounds` times, `processes` processes open one fresh cache at once.

    Returns:
        {"opens", "lock_errors", "fallbacks", "crashes", "unreadable"}: opens tried; opens or first writes that gave up
        on a lock; caches that set themselves aside for any reason; exceptions that escaped; entries not read back.
    """
    import router_core.model.score_cache  # noqa: F401  imported once here, so forked workers start without importing torch again

    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    totals = {"opens": 0, "lock_errors": 0, "fallbacks": 0, "crashes": 0, "unreadable": 0}
    with tempfile.TemporaryDirectory(prefix="crossroute-cache-bench-") as folder:
        for round_number in range(rounds):
            path = str(Path(folder) / f"round{round_number}" / "scores.sqlite")
            barrier, results = context.Barrier(processes), context.Queue()
            workers = [context.Process(target=_open_once, args=(path, barrier, results)) for _ in range(processes)]
            for worker in workers:
                worker.start()
            outcomes = [results.get(timeout=120) for _ in workers]
            for worker in workers:
                worker.join(timeout=60)
            for outcome in outcomes:
                totals["opens"] += 1
                totals["crashes"] += outcome["crash"] is not None
                totals["fallbacks"] += not outcome["enabled"]
                totals["lock_errors"] += any("locked" in message for message in outcome["warnings"])
                totals["unreadable"] += outcome["enabled"] and not outcome["readable"]
    return totals
