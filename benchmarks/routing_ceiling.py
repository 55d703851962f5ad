"""How far can category-level routing go? Reference routers that know each test query's category, beside the baselines.

    .venv/bin/python benchmarks/routing_ceiling.py [--sets llmrouter_train] [--folds 5] [--router]

Reads ../shared/data at run time (never copied into the repo). Same folds as benchmarks/routing_quality.py (5 by query,
fold seed 0). Rows (benchmarks/ceilings.py): `category-known` (each model's training mean over the test query's true
category), `category-known+residual` (plus the within-category residual regressed on the embedding),
`category-oracle` (category means measured on the test fold itself, using its labels), and that with each test query's
true cost (`category-oracle+true-cost`: is cost prediction what category routing lacks?). They read information no
router has when it routes; they say what a target such as "1.06× the best baseline" asks of per-query evidence beyond
the task. --router also trains the cross-attention router on every fold (about 4 minutes a fold on llmrouter).
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
from results_io import Table, command_line, write_result

ROOT = Path(__file__).resolve().parent.parent  # the data folder defaults to ROOT/../shared/data

from ceilings import CEILINGS, run_ceilings  # noqa: E402

from router_core.config import RouterConfig  # noqa: E402
from router_core.data.labelled import load_labelled  # noqa: E402
from router_core.evaluation.baselines import LEARNED, SUPERVISED, run_baselines  # noqa: E402
from router_core.evaluation.comparison import (  # noqa: E402
    default_lams_for_comparison,
    featurise,
    train_and_compare,
)
from router_core.model.encoder import Encoder  # noqa: E402
from router_core.policy.curves import compare  # noqa: E402
from router_core.policy.rule import CostScale, Policy  # noqa: E402

FOLD_SEED = 0
TARGET_RATIO = 1.06  # the llmrouter target: the router's AIQ at 1.06× the best of LEARNED


def fold_table(train, test, encoder, with_router: bool) -> pd.DataFrame:
    lams = default_lams_for_comparison()
    train_data, test_data = featurise(train, encoder), featurise(test, encoder)
    scale = Policy(CostScale.from_costs(train.cost))
    curves = run_baselines(train_data, test_data, lams, scale, names=["oracle", "single", *LEARNED, *SUPERVISED])
    curves.update(run_ceilings(train_data, test_data, lams, scale))
    table = compare(curves, test_data)
    if with_router:
        _, routed, _ = train_and_compare(train, test, RouterConfig.of(seed=0), encoder=encoder, baselines=["oracle"])
        table = pd.concat([table, routed.loc[["cross-attention"], table.columns]])
    return table[["aiq", "max_quality"]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--sets", default="llmrouter_train", help="comma-separated sets with a category column")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--router", action="store_true", help="also train and measure the router on every fold")
    args = parser.parse_args()
    data_dir = Path(args.data_dir)
    if not data_dir.is_dir():
        print(f"no data at {data_dir}: this benchmark reads the real routing sets there", file=sys.stderr)
        return 2
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads")
    encoder = Encoder.load()
    for name in args.sets.split(","):
        started = time.perf_counter()
        data = load_labelled(data_dir / f"{name}.csv", missing="drop")
        encoder.token_states(data.queries)
        rows = []
        for fold, (train, test) in enumerate(data.folds(args.folds, FOLD_SEED)):
            table = fold_table(train, test, encoder, args.router).assign(fold=fold)
            single = table.loc[[n for n in table.index if n.startswith("single:")], "aiq"]
            kept = table.drop(index=single.index)
            kept.loc["best single (by AIQ)"] = [single.max(), table.loc[single.idxmax(), "max_quality"], fold]
            rows.append(kept)
            print(f"  fold {fold}: " + ", ".join(f"{r} {table.loc[r, 'aiq']:.4f}" for r in CEILINGS), flush=True)
        folds = pd.concat(rows)
        summary = folds.groupby(level=0)[["aiq", "max_quality"]].agg(["mean", "std"])
        summary.columns = [f"{m}_{s}" for m, s in summary.columns]
        summary = summary.sort_values("aiq_mean", ascending=False)
        print(f"\n## {name}: {len(data)} queries × {len(data.candidates)} models, {args.folds} folds by query; "
              f"{time.perf_counter() - started:.0f} s; mean ± std over folds, measured on the held-out fold")
        print(summary.to_string(float_format=lambda x: f"{x:.4f}"))
        aiq = summary["aiq_mean"]
        learned = aiq[[b for b in LEARNED if b in aiq.index]]
        best, target = learned.idxmax(), TARGET_RATIO * learned.max()
        lines = [f"best baseline {best} {learned.max():.4f}; {TARGET_RATIO}× it = {target:.4f}"]
        for ceiling in CEILINGS:
            lines.append(f"{ceiling} {aiq[ceiling]:.4f} = {aiq[ceiling] / learned.max():.3f}× the best baseline; "
                         f"{'reaches' if aiq[ceiling] >= target else 'short of'} {TARGET_RATIO}× by {aiq[ceiling] - target:+.4f}")
        if "cross-attention" in aiq.index:
            lines.append(f"cross-attention router {aiq['cross-attention']:.4f} = {aiq['cross-attention'] / learned.max():.3f}× the best baseline")
        for line in lines:
            print(f"- {line}")
        sys.stdout.flush()
        headline = {"set": name, "best baseline": best, "best baseline AIQ": learned.max(),
                    **{f"{ceiling} AIQ": aiq[ceiling] for ceiling in CEILINGS},
                    f"{TARGET_RATIO}× best baseline (AIQ)": target}
        if "cross-attention" in aiq.index:
            headline["CrossRoute AIQ"] = aiq["cross-attention"]
        write_result(f"routing_ceiling-{name}", command_line(),
                     [Table(f"{name}: {len(data)} queries × {len(data.candidates)} models, {args.folds} folds by query "
                            f"(fold seed {FOLD_SEED}); mean and std over the held-out folds", summary.rename_axis("router"))],
                     notes=lines, seconds=time.perf_counter() - started, summary=headline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
