"""Off-policy estimates against the truth: is another λ's quality inside the interval `evaluate-policy` states?

    python benchmarks/off_policy.py [--sets sample,alpacaeval2] [--draws 50] [--requests 400] [--explore 0.1]

A router routes a labelled set's queries at the logging λ (0.3) with exploration (each decision's probabilities as
`serve --explore` records them); the feedback on each routed answer is its labelled quality. The doubly robust and
inverse-propensity estimates of another λ's quality (0, 0.7, 1), with their 95% intervals, are compared with that λ's
true mean labelled quality on the same requests. Each draw is another sample of requests and other exploration draws.
The sample set is routed by the bundled sample router (trained on it); a shared set by a router trained on a random
half of it and logged on the other half. Target: the interval holds the truth in ≥ 90% of draws.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from results_io import Table, command_line, write_result  # noqa: E402

from router_core import Router, RouterConfig  # noqa: E402
from router_core.data.labelled import load_labelled  # noqa: E402
from router_core.feedback.explore import probabilities  # noqa: E402
from router_core.feedback.offpolicy import estimate  # noqa: E402

LOGGING_LAM, TARGETS = 0.3, (0.0, 0.7, 1.0)


def router_and_queries(name: str, data_dir: Path):
    """(router, labelled rows it did not train on, or the sample's own rows)."""
    if name == "sample":
        return Router.load(ROOT / "sample_data" / "router"), load_labelled(ROOT / "sample_data" / "labelled.csv")
    data = load_labelled(data_dir / f"{name}.csv", missing="drop")
    train, test = data.split(0.5, 0)
    return Router(RouterConfig.of(seed=0)).fit(train, show_bar=False), test


def coverage(router, data, draws: int, requests: int, epsilon: float) -> pd.DataFrame:
    scores = router.scores(list(data.queries))
    names = list(router.candidates)
    columns = [list(data.candidates).index(n) for n in names]
    labels = data.quality[:, columns]
    cost = data.cost[:, columns]
    logged_decisions = router.decide(scores, LOGGING_LAM)
    chances = np.array([[probabilities({m: d.per_candidate[m]["utility"] for m in names}, names, d.candidate, epsilon)[m]
                         for m in names] for d in logged_decisions])
    targets = {lam: np.array([names.index(d.candidate) for d in router.decide(scores, lam)]) for lam in TARGETS}
    rows = []
    for draw in range(draws):
        rng = np.random.default_rng(draw)
        pick = rng.choice(len(data), min(requests, len(data)), replace=False)
        logged = np.array([rng.choice(len(names), p=chances[i]) for i in pick])
        rewards = labels[pick, logged]
        for lam, target in targets.items():
            result = estimate(rewards, logged, chances[pick], target[pick], scores.quality[pick], scores.cost[pick],
                              cost[pick, logged])
            truth = float(labels[pick, target[pick]].mean())
            for e in (result.dr, result.ips):
                rows.append({"λ": lam, "method": e.method, "covered": e.low <= truth <= e.high, "error": e.value - truth,
                             "width": e.high - e.low, "agreement": result.agreement})
    frame = pd.DataFrame(rows)
    return (frame.groupby(["λ", "method"])
            .agg(draws=("covered", "size"), covered=("covered", "mean"), mean_error=("error", "mean"),
                 mean_abs_error=("error", lambda e: float(np.abs(e).mean())), interval_width=("width", "mean"),
                 agreement=("agreement", "mean"))
            .reset_index())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="sample,alpacaeval2")
    parser.add_argument("--draws", type=int, default=50)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--explore", type=float, default=0.1)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    args = parser.parse_args()
    started = time.perf_counter()
    tables, notes = [], []
    for name in args.sets.split(","):
        if name != "sample" and not (Path(args.data) / f"{name}.csv").exists():
            print(f"skipped {name}: no {name}.csv in {args.data}", flush=True)
            continue
        router, data = router_and_queries(name, Path(args.data))
        frame = coverage(router, data, args.draws, args.requests, args.explore)
        print(f"{name}:\n{frame.to_string(index=False)}", flush=True)
        tables.append(Table(f"{name}: logged at λ = {LOGGING_LAM}, exploration {args.explore:g}, {args.requests} requests "
                            f"per draw; other λ estimated from the feedback", frame,
                            {"covered": "percent", "mean_error": "quality", "mean_abs_error": "quality",
                             "interval_width": "quality", "agreement": "percent", "draws": "int"}))
        dr = frame[frame["method"] == "doubly robust"]
        notes.append(f"{name}: the doubly robust 95% interval held the true quality in {dr['covered'].min():.0%} to "
                     f"{dr['covered'].max():.0%} of draws across λ {', '.join(f'{t:g}' for t in TARGETS)} "
                     f"(target ≥ 90%); mean width {dr['interval_width'].mean():.3f}")
    for line in notes:
        print(f"- {line}")
    write_result("off_policy", command_line(), tables, notes=notes, seconds=time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
