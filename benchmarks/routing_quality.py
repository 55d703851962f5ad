"""Routing quality on real data: the cross-attention router and every baseline, same folds, one run.

    .venv/bin/python benchmarks/routing_quality.py [--sets llmrouter_train,alpacaeval2,...] [--folds 5] [--seeds 0,1,2]
    .venv/bin/python benchmarks/routing_quality.py --shift [--sets ...]
    .venv/bin/python benchmarks/routing_quality.py --sets sample   # the bundled demo set (sample_data/labelled.csv)

Reads ../shared/data at run time (never copied into the repo). Each set is cut into K folds by query (fold seed 0);
on every fold the router and the baselines train on the other K−1 folds and are measured on the held-out one.
Quality and cost are measured (the labelled outcome of the chosen model), never predicted. Tables hold the mean and
the standard deviation over folds. Sets named in --stability-sets are run again with every training seed in --seeds
(same folds) and the spread of the router's mean AIQ over seeds is set against its margin over the best baseline.
Hyperparameters and blend weights are chosen inside each training fold (the router's own cross-fitting), never on
the held-out fold. With --shift the folds are replaced by splits whose test task mix differs from training
(shift_quality.py).
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
import shift_quality
import torch
from ablation import train_and_compare_with_ablations
from results_io import Table, command_line, write_result

ROOT = Path(__file__).resolve().parent.parent  # the data folder defaults to ROOT/../shared/data

from router_core.config import RouterConfig  # noqa: E402
from router_core.data.labelled import load_labelled  # noqa: E402
from router_core.model.encoder import Encoder  # noqa: E402
from router_core.policy.curves import COMPARE_METRICS  # noqa: E402
from router_core.policy.metrics import paired_gap  # noqa: E402

DEFAULT_SETS = "llmrouter_train,alpacaeval2,routellm_gsm8k,routellm_mmlu,routerarena"
SAMPLE_SET = "sample"  # `--sets sample`: the dashboard's demo set, 5-fold paired like the real ones
SHIFT_SETS = "llmrouter_train,alpacaeval2,routellm_mmlu"  # the sets with task-type categories to shift
METRICS = [*COMPARE_METRICS, "fit_seconds"]
from router_core.evaluation.baselines import LEARNED as LEARNED_BASELINES  # noqa: E402

ROUTER = "cross-attention"
FOLD_SEED = 0


def fold_tables(data, n_folds: int, seed: int, encoder, finetune_layers: int = 0, splits=None) -> pd.DataFrame:
    """Every router on the same K folds (or the given [(train, test)] splits); one row per (router, fold)."""
    config = RouterConfig.of(seed=seed, finetune_layers=finetune_layers)
    rows = []
    for fold, (train, test) in enumerate(splits if splits is not None else data.folds(n_folds, FOLD_SEED)):
        _, table, _ = train_and_compare_with_ablations(train, test, config, encoder, tuned_baselines=finetune_layers > 0)
        learned = table.loc[[b for b in LEARNED_BASELINES if b in table.index], "aiq"]
        print(f"  fold {fold}: router AIQ {table.loc[ROUTER, 'aiq']:.4f}, best baseline {learned.idxmax()} {learned.max():.4f}, "
              f"fit {table.loc[ROUTER, 'fit_seconds']:.0f} s", flush=True)
        single = table.loc[[n for n in table.index if n.startswith("single:")]]
        best = single["max_quality"].idxmax()  # the best single model: the highest measured quality
        table = table[[c for c in METRICS if c in table.columns]].assign(
            fold=fold, best_single_quality=single.loc[best, "max_quality"], best_single_aiq=single["aiq"].max())
        rows.append(table)
    return pd.concat(rows)


def summarise(folds: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over folds per router, sorted by mean AIQ."""
    shown = folds.drop(columns=["fold", "best_single_quality", "best_single_aiq"])
    summary = shown.groupby(level=0).agg(["mean", "std"])
    summary.columns = [f"{m}_{s}" for m, s in summary.columns]
    summary = summary.dropna(axis=1, how="all")
    keep = [c for c in summary.columns if not (c.startswith("fit_seconds") and c.endswith("std"))]
    return summary[keep].sort_values("aiq_mean", ascending=False)


def verdict(name: str, folds: pd.DataFrame) -> list[str]:
    """The targets (≥ 1.06× the best baseline on llmrouter, ≥ 1× elsewhere), checked on the fold means."""
    mean = folds.groupby(level=0).mean(numeric_only=True)
    learned = mean.loc[[b for b in LEARNED_BASELINES if b in mean.index], "aiq"]
    best_baseline, router = learned.idxmax(), mean.loc[ROUTER]
    ratio = router["aiq"] / learned.max()
    per_fold = folds.loc[ROUTER].set_index("fold")
    below_single = int((per_fold["aiq"] < per_fold["best_single_aiq"] - 1e-12).sum())
    short_quality = int((per_fold["max_quality"] < per_fold["best_single_quality"] - 0.005).sum())
    lines = [f"router AIQ {router['aiq']:.4f} = {ratio:.3f} × best baseline ({best_baseline} {learned.max():.4f})"
             + (" — target ≥ 1.06×: " + ("met" if ratio >= 1.06 else "MISSED") if name == "llmrouter_train" else
                " — target ≥ 1×: " + ("met" if ratio >= 1.0 else "MISSED")),
             f"best single model: AIQ {router['best_single_aiq']:.4f}, quality {router['best_single_quality']:.4f}; router AIQ "
             f"{'≥' if router['aiq'] >= router['best_single_aiq'] else 'BELOW'} it (below on {below_single} of {len(per_fold)} folds), "
             f"max quality {router['max_quality']:.4f} "
             f"{'within' if router['max_quality'] >= router['best_single_quality'] - 0.005 else 'MORE than'} 0.005 of it "
             f"(short on {short_quality} of {len(per_fold)} folds)"]
    gap = paired_gap(per_fold["aiq"], folds.loc[best_baseline].set_index("fold").loc[per_fold.index, "aiq"])
    lines.append(f"paired over the {gap['folds']} folds: router − {best_baseline} = {gap['gap']:+.4f} ± {gap['standard_error']:.4f} "
                 f"(standard error); ahead on {gap['ahead']}, level on {gap['level']}, behind on {gap['behind']}; paired t-test p = {gap['p_value']:.2g}"
                 + ("" if np.isnan(gap["p_value"]) else f" ({'a real difference' if gap['p_value'] < 0.05 else 'not distinguishable from fold noise'} at 5%)"))
    typed = [b for b in ("task-type", "task-type (tuned encoder)") if b in mean.index]
    if typed:  # on a set without categories it is the best fixed model per λ
        best_typed = mean.loc[typed, "aiq"].idxmax()
        lines.append(f"against the task-type baseline (trained on the data's categories, which the baselines above ignore): "
                     f"{best_typed} {mean.loc[best_typed, 'aiq']:.4f}, router {router['aiq'] / mean.loc[best_typed, 'aiq']:.3f}×")
    tuned = mean.loc[[f"{b} (tuned encoder)" for b in LEARNED_BASELINES if f"{b} (tuned encoder)" in mean.index], "aiq"]
    if len(tuned):
        lines.append(f"against the baselines on the router's tuned encoder: best {tuned.idxmax()} {tuned.max():.4f}, "
                     f"router {router['aiq'] / tuned.max():.3f}× (how much of the gain the encoder alone gives)")
    if name == "llmrouter_train":
        cost = router["cost_at_best_single"]
        lines.append(f"best single model's quality reached at {cost:.0%} of its cost — target ≤ 40%: "
                     + ("met" if cost <= 0.40 else "MISSED") if np.isfinite(cost) else
                     "best single model's quality never reached on the fold mean — target ≤ 40%: MISSED")
    return lines


def stability(name: str, data, n_folds: int, seeds: list[int], first: pd.DataFrame, encoder, finetune_layers: int = 0) -> list[str]:
    """Mean AIQ over folds for each training seed; std over seeds against the margin over the best baseline."""
    per_seed = {seeds[0]: first}
    for seed in seeds[1:]:
        per_seed[seed] = fold_tables(data, n_folds, seed, encoder, finetune_layers)
    router = {s: t.loc[ROUTER, "aiq"].mean() for s, t in per_seed.items()}
    baseline = {}
    for s, t in per_seed.items():
        means = t.groupby(level=0)["aiq"].mean()
        baseline[s] = means[[b for b in LEARNED_BASELINES if b in means.index]].max()
    std = float(np.std(list(router.values()), ddof=1))
    margin = float(np.mean(list(router.values())) - np.mean(list(baseline.values())))
    return [f"seed {s}: router AIQ {router[s]:.4f}, best baseline {baseline[s]:.4f}" for s in per_seed] + [
        f"router AIQ over {len(seeds)} seeds: {np.mean(list(router.values())):.4f} ± {std:.4f} (std); margin over the best "
        f"baseline {margin:+.4f} = {margin / std if std > 0 else float('inf'):.1f} std — target > 2 std: "
        + ("met" if margin > 2 * std else "MISSED")]


def set_path(data_dir: Path, name: str) -> Path:
    """A real set's CSV in the data folder; `sample` is the bundled synthetic labelled set the dashboard demos."""
    return ROOT / "sample_data" / "labelled.csv" if name == SAMPLE_SET else data_dir / f"{name}.csv"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"), help="folder with the real routing sets")
    parser.add_argument("--sets", default=DEFAULT_SETS, help=f"comma-separated set names (default {DEFAULT_SETS})")
    parser.add_argument("--folds", type=int, default=5, help="K-fold cross-validation by query (default 5)")
    parser.add_argument("--seeds", default="0,1,2", help="training seeds for the stability sets (the first is used for every set)")
    parser.add_argument("--stability-sets", default="llmrouter_train", help="sets re-run with every seed (default llmrouter_train)")
    parser.add_argument("--shift", action="store_true",
                        help="instead of random folds, splits whose test task mix differs from training (shift_splits.py): "
                             "leave task types out, mix shift and hardest items (default sets llmrouter_train, alpacaeval2, "
                             "routellm_mmlu)")
    parser.add_argument("--sample", type=int, default=0,
                        help="use a seeded random sample of at most this many queries per set (0: all; default 0)")
    parser.add_argument("--finetune-layers", type=int, default=RouterConfig().training.finetune_layers,
                        help="top encoder layers the router tunes (default: the shipped configuration's). The baselines "
                             "keep the frozen encoder; with tuning they are also run on the tuned one, as rows "
                             "'<baseline> (tuned encoder)'")
    args = parser.parse_args()
    data_dir = Path(args.data_dir)
    if not data_dir.is_dir() and args.sets != SAMPLE_SET:
        print(f"no data at {data_dir}: this benchmark reads the real routing sets there", file=sys.stderr)
        return 2
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.shift and args.sets == DEFAULT_SETS:
        args.sets = SHIFT_SETS
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("splits whose test task mix differs from training (shift_splits.py)" if args.shift else
          f"{args.folds}-fold cross-validation by query (fold seed {FOLD_SEED})", end="; ")
    print(f"training seed {seeds[0]}; "
          f"router tunes the top {args.finetune_layers} encoder layer(s) when trained on ≥ {RouterConfig().training.finetune_min_queries} "
          "queries, else none; "
          "mean ± std over folds; measured on the held-out fold")
    encoder = Encoder.load()
    for name in args.sets.split(","):
        started = time.perf_counter()
        data = load_labelled(set_path(data_dir, name), missing="drop")
        if 0 < args.sample < len(data):
            print(f"{name}: a random sample of {args.sample} of its {len(data)} queries (seed 0)")
            data = data.subset(np.sort(np.random.default_rng(0).choice(len(data), args.sample, replace=False)))
        encoder.token_states(data.queries)  # encode once; every fold, router and baseline share the cached states
        if args.shift:
            shift_quality.run(name, data, seeds[0], encoder, args.finetune_layers, fold_tables, summarise)
            continue
        folds = fold_tables(data, args.folds, seeds[0], encoder, args.finetune_layers)
        dropped = f", {len(data.dropped)} queries left out for lacking a model" if len(data.dropped) else ""
        print(f"\n## {name}: {len(data)} queries × {len(data.candidates)} models{dropped}; {time.perf_counter() - started:.0f} s")
        print("cost_at_best_single: fraction of the best single model's cost at which the hull reaches its quality; "
              "fit_seconds: training wall time")
        summary = summarise(folds).rename_axis("router")
        with pd.option_context("display.width", 250, "display.max_columns", 30, "display.max_rows", 100):
            print(summary.to_string(float_format=lambda x: f"{x:.4f}"))
        lines = verdict(name, folds)
        for line in lines:
            print(f"- {line}")
        if name in args.stability_sets.split(",") and len(seeds) > 1:
            for line in stability(name, data, args.folds, seeds, folds, encoder, args.finetune_layers):
                lines.append(line)
                print(f"- {line}")
        sys.stdout.flush()
        # One result per set: sets are independent, so `--sets NAME` replaces only that set's result.
        learned = summary.loc[[b for b in LEARNED_BASELINES if b in summary.index], "aiq_mean"]
        headline = {"set": name, "queries": len(data), "models": len(data.candidates),
                    "CrossRoute AIQ": summary.loc[ROUTER, "aiq_mean"], "best baseline": learned.idxmax(),
                    "best baseline AIQ": learned.max(), "ratio": summary.loc[ROUTER, "aiq_mean"] / learned.max(),
                    "best single model AIQ": folds.loc[ROUTER, "best_single_aiq"].mean(),
                    **({"task-type AIQ": summary.loc["task-type", "aiq_mean"]} if "task-type" in summary.index else {}),
                    "CrossRoute max quality": summary.loc[ROUTER, "max_quality_mean"]}
        write_result(f"routing_quality-{name}", command_line(),
                     [Table(f"{name}: {len(data)} queries × {len(data.candidates)} models{dropped}; {args.folds}-fold "
                            f"cross-validation by query (fold seed {FOLD_SEED}, training seed {seeds[0]}); mean and std "
                            "over the held-out folds", summary)],
                     notes=["cost_at_best_single: share of the best single model's cost at which the curve reaches its "
                            "quality; fit_seconds: training wall time", *lines],
                     seconds=time.perf_counter() - started, summary=headline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
