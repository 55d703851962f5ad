"""Routing with little labelled data: does the router fall back to the best fixed model when evidence is thin?

    python benchmarks/small_data.py [--sets alpacaeval2,llmrouter_train] [--sizes 50,100] [--draws 5] [--mt-bench-sized 5]

For each set and training size, several random draws of that many training queries; the router and every baseline
train on the draw and are measured on held-out queries (a fixed sample of at most --test-size queries and half the
set, the same for all draws of a set). With --mt-bench-sized N, also N random sets the size of MT-Bench (80 queries,
7 models drawn from the set) each cross-validated in 5 folds of 64 training and 16 held-out queries. Target: the
router never below the best single model (AIQ, and its best quality within 0.005) on any draw or fold. Reads
../shared/data at run time.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from results_io import Table, command_line, write_result

from router_core.config import RouterConfig
from router_core.data.labelled import load_labelled
from router_core.evaluation.baselines import LEARNED, SUPERVISED
from router_core.evaluation.comparison import train_and_compare
from router_core.model.encoder import Encoder

ROOT = Path(__file__).resolve().parent.parent
ROUTER = "cross-attention"


def draws(data, size: int, n_draws: int, test_size: int) -> list[tuple]:
    """[(train, test)]: the test is one fixed sample of the set (at most half of it, so that draws differ); each draw's
    training queries come from the rest."""
    rng = np.random.default_rng(0)
    order = rng.permutation(len(data))
    n_test = min(test_size, len(data) // 2)
    test, pool = np.sort(order[:n_test]), order[n_test:]
    return [(data.subset(np.sort(np.random.default_rng([size, d]).choice(pool, size, replace=False))), data.subset(test))
            for d in range(n_draws)]


def run_size(data, size: int, n_draws: int, test_size: int, encoder) -> tuple[pd.DataFrame, list[str]]:
    rows = []
    for d, (train, test) in enumerate(draws(data, size, n_draws, test_size)):
        router, table, _ = train_and_compare(train, test, RouterConfig.of(seed=0), encoder=encoder)
        single = table.loc[[n for n in table.index if n.startswith("single:")]]
        best = single["max_quality"].idxmax()
        fell_back = bool((router.training.quality_stage or {}).get("fell_back_to_prior", False))
        rows.append({"draw": d, "router AIQ": table.loc[ROUTER, "aiq"], "best single AIQ": single["aiq"].max(),
                     "router max quality": table.loc[ROUTER, "max_quality"], "best single quality": single.loc[best, "max_quality"],
                     "best baseline AIQ": table.loc[[b for b in LEARNED + SUPERVISED if b in table.index], "aiq"].max(),
                     "fell back to the prior": fell_back})
        print(f"  {size} queries, draw {d}: router {rows[-1]['router AIQ']:.4f} (fell back: {fell_back}), best single "
              f"{rows[-1]['best single AIQ']:.4f}, best baseline {rows[-1]['best baseline AIQ']:.4f}", flush=True)
    frame = pd.DataFrame(rows).set_index("draw")
    below = int((frame["router AIQ"] < frame["best single AIQ"] - 1e-9).sum())
    short = int((frame["router max quality"] < frame["best single quality"] - 0.005).sum())
    line = (f"{size} training queries: router AIQ below the best single model's on {below} of {len(frame)} draws, best "
            f"quality more than 0.005 short of it on {short}; fell back to the best fixed model per λ on "
            f"{int(frame['fell back to the prior'].sum())}")
    return frame, [line]


def run_mt_bench_sized(data, n_sets: int, encoder, n_queries: int = 80, n_models: int = 7) -> tuple[pd.DataFrame, list[str]]:
    """N sets of `n_queries` × `n_models` drawn from `data`, each in 5 folds: the router against the best single model
    of each held-out fold."""
    rows = []
    for d in range(n_sets):
        rng = np.random.default_rng([n_queries, n_models, d])
        models = sorted(rng.choice(list(data.candidates), min(n_models, len(data.candidates)), replace=False).tolist())
        small = data.models(models).subset(np.sort(rng.choice(len(data), n_queries, replace=False)))
        for f, (train, test) in enumerate(small.folds(5, d)):
            router, table, _ = train_and_compare(train, test, RouterConfig.of(seed=0), encoder=encoder)
            single = table.loc[[n for n in table.index if n.startswith("single:")]]
            fell_back = bool((router.training.quality_stage or {}).get("fell_back_to_prior", False))
            rows.append({"set": d, "fold": f, "router AIQ": table.loc[ROUTER, "aiq"], "best single AIQ": single["aiq"].max(),
                         "router max quality": table.loc[ROUTER, "max_quality"],
                         "best single quality": single["max_quality"].max(), "fell back to the prior": fell_back,
                         "guarded λ ranges": len(router.parts.guard)})
            print(f"  MT-Bench-sized set {d}, fold {f}: router {rows[-1]['router AIQ']:.4f} (fell back: {fell_back}), "
                  f"best single {rows[-1]['best single AIQ']:.4f}", flush=True)
    frame = pd.DataFrame(rows).set_index(["set", "fold"])
    below = int((frame["router AIQ"] < frame["best single AIQ"] - 1e-9).sum())
    short = int((frame["router max quality"] < frame["best single quality"] - 0.005).sum())
    line = (f"MT-Bench-sized ({n_queries} queries × {n_models} models, 5 folds of {n_queries * 4 // 5}): router AIQ below "
            f"the best single model's on {below} of {len(frame)} folds (mean {frame['router AIQ'].mean():.4f} against "
            f"{frame['best single AIQ'].mean():.4f}), best quality more than 0.005 short of it on {short}; fell back to "
            f"the best fixed model per λ on {int(frame['fell back to the prior'].sum())}")
    return frame, [line]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--sets", default="alpacaeval2,llmrouter_train")
    parser.add_argument("--sizes", default="50,100")
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--test-size", type=int, default=1000)
    parser.add_argument("--mt-bench-sized", type=int, default=0, metavar="N",
                        help="also N random 80-query, 7-model sets in 5 folds (default 0)")
    args = parser.parse_args()
    data_dir = Path(args.data_dir)
    if not data_dir.is_dir():
        print(f"no data at {data_dir}: this benchmark reads the real routing sets there", file=sys.stderr)
        return 2
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}")
    encoder = Encoder.load()
    for name in args.sets.split(","):
        started = time.perf_counter()
        data = load_labelled(data_dir / f"{name}.csv", missing="drop")
        tables, notes, summary = [], [], []
        for size in (int(s) for s in args.sizes.split(",")):
            frame, lines = run_size(data, size, args.draws, args.test_size, encoder)
            print(frame.to_string(float_format=lambda x: f"{x:.4f}"))
            for line in lines:
                print(f"- {line}")
            tables.append(Table(f"{name}: {size} training queries per draw, {args.draws} draws, measured on "
                                f"{min(args.test_size, len(data) // 2)} held-out queries", frame))
            notes += lines
            summary.append({"set": name, "training queries": size, "draws": len(frame),
                            "router AIQ (mean)": frame["router AIQ"].mean(), "best single AIQ (mean)": frame["best single AIQ"].mean(),
                            "draws below best single": int((frame["router AIQ"] < frame["best single AIQ"] - 1e-9).sum())})
        if args.mt_bench_sized:
            frame, lines = run_mt_bench_sized(data, args.mt_bench_sized, encoder)
            print(frame.to_string(float_format=lambda x: f"{x:.4f}"))
            for line in lines:
                print(f"- {line}")
            tables.append(Table(f"{name}: MT-Bench-sized sets (80 queries × 7 models drawn at random), 5 folds each", frame.reset_index()))
            notes += lines
            summary.append({"set": name, "training queries": 64, "draws": len(frame),
                            "router AIQ (mean)": frame["router AIQ"].mean(), "best single AIQ (mean)": frame["best single AIQ"].mean(),
                            "draws below best single": int((frame["router AIQ"] < frame["best single AIQ"] - 1e-9).sum())})
        write_result(f"small_data-{name}", command_line(), tables, notes=notes, seconds=time.perf_counter() - started,
                     summary=summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
