"""Routing quality on real data: the cross-attention router and every baseline, same split, one run.

    .venv/bin/python benchmarks/routing_quality.py [--sets llmrouter_train,alpacaeval2,routellm_gsm8k]

Reads ../shared/data at run time (never copied into the repo). Each set is split 80/20 by query with a fixed
seed; the router and the baselines train on the 80% and are measured on the 20%. Quality and cost are measured
(the labelled outcome of the chosen model), never predicted. Wall time of each router's training is printed beside it.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import pandas as pd
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from router_core.comparison import train_and_compare  # noqa: E402
from router_core.config import RouterConfig  # noqa: E402
from router_core.data import load_labelled  # noqa: E402
from router_core.encoder import Encoder  # noqa: E402

DEFAULT_SETS = "llmrouter_train,alpacaeval2,routellm_gsm8k"
COLUMNS = ["aiq", "max_quality", "cost_at_best_single", "quality_at_cheapest", "apgr", "cpt50", "cpt80", "estimate", "fit_seconds"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"), help="folder with the real routing sets")
    parser.add_argument("--sets", default=DEFAULT_SETS, help=f"comma-separated set names (default {DEFAULT_SETS})")
    parser.add_argument("--seed", type=int, default=0, help="split and training seed (default 0)")
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--epochs", type=int, default=80)
    parser.add_argument("--folds", type=int, default=0,
                        help="K-fold cross-validation by query instead of one split: prints mean and std of each metric over folds")
    args = parser.parse_args()
    data_dir = Path(args.data_dir)
    if not data_dir.is_dir():
        print(f"no data at {data_dir}: this benchmark reads the real routing sets there", file=sys.stderr)
        return 2
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads")
    encoder = Encoder.load()
    config = RouterConfig(seed=args.seed, epochs=args.epochs)
    for name in args.sets.split(","):
        started = time.perf_counter()
        data = load_labelled(data_dir / f"{name}.csv", missing="drop")
        if args.folds > 1:
            cross_validate(name, data, args.folds, config, encoder)
            continue
        train, test = data.split(args.test_fraction, args.seed)
        encoder.token_states(data.queries)  # encode once; router and baselines share the cached token states
        encode_seconds = time.perf_counter() - started
        router, table, _ = train_and_compare(train, test, config, encoder=encoder)
        dropped = f", {len(data.dropped)} queries left out for lacking a model" if len(data.dropped) else ""
        print(f"\n## {name}: {len(data)} queries × {len(data.candidates)} models{dropped}; "
              f"train {len(train)} / test {len(test)} (split seed {args.seed}); encoding {encode_seconds:.0f} s")
        print("measured on the held-out queries; cost_at_best_single is a fraction of the best single model's cost; fit_seconds is training wall time")
        with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_rows", 100):
            shown = table[[c for c in COLUMNS if c in table.columns]].sort_values("aiq", ascending=False)
            print(shown.to_string(float_format=lambda x: f"{x:.4f}"))
        print(f"cross-attention router: best epoch {router.training_['best_epoch']} of {router.training_['epochs_run']}; "
              f"set total {time.perf_counter() - started:.0f} s")
    return 0


def cross_validate(name: str, data, n_folds: int, config, encoder) -> None:
    """Every router on the same K folds by query; the table holds mean and standard deviation over folds."""
    started = time.perf_counter()
    encoder.token_states(data.queries)
    tables = []
    for fold, (train, test) in enumerate(data.folds(n_folds, config.seed)):
        _, table, _ = train_and_compare(train, test, config, encoder=encoder)
        tables.append(table[[c for c in COLUMNS if c in table.columns and c != "estimate"]].assign(fold=fold))
    joined = pd.concat(tables)
    summary = joined.groupby(level=0).agg(["mean", "std"])
    summary.columns = [f"{metric}_{stat}" for metric, stat in summary.columns]
    summary = summary.drop(columns=["fold_mean", "fold_std"]).sort_values("aiq_mean", ascending=False)
    print(f"\n## {name}: {len(data)} queries × {len(data.candidates)} models; {n_folds}-fold CV by query (seed {config.seed}); "
          f"{time.perf_counter() - started:.0f} s")
    keep = [c for c in summary.columns if c.split("_")[0] in ("aiq", "max", "cost", "fit") or c.startswith("apgr")]
    with pd.option_context("display.width", 220, "display.max_columns", 20, "display.max_rows", 100):
        print(summary[keep].to_string(float_format=lambda x: f"{x:.4f}"))


if __name__ == "__main__":
    sys.exit(main())
