"""Routing quality when the test traffic's task mix differs from training: `routing_quality.py --shift`.

For each set and each scheme of shift_splits.py (leave task types out, mix shift, hardest items), the router and every
baseline train on the split's training rows and are measured on its test rows, in one run. Per scheme: the mean and
std over splits, and the router's paired fold-by-fold gap to the best baseline and to ridge regression on the same
stock embeddings ("linear"), whose margin under shift is what the network has to beat.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
from results_io import Table, command_line, write_result
from shift_splits import SCHEMES, splits

from router_core.evaluation.baselines import LEARNED, SUPERVISED
from router_core.policy.metrics import paired_gap

ROUTER = "cross-attention"
NETWORK_ALONE = "cross-attention, network alone"
TARGET_RATIO, TARGET_COST = 1.03, 0.40
SCHEME_TEXT = {"leave_type_out": "leave task types out (test task types never in training)",
               "mix_shift": "mix shift (half the task types rare in training, common in the test)",
               "hardest": "hardest items (each task type's hardest quarter for the best single model)"}


def _gap_line(per_fold: pd.DataFrame, folds: pd.DataFrame, other: str, ours: str = ROUTER) -> str:
    mine = folds.loc[[ours]].set_index("fold")["aiq"]
    theirs = folds.loc[[other]].set_index("fold").loc[mine.index, "aiq"]
    if len(mine) < 2:
        return f"{ours} − {other} = {float(mine.iloc[0] - theirs.iloc[0]):+.4f} (one split: no fold-to-fold test)"
    gap = paired_gap(mine, theirs)
    p = gap["p_value"]
    return (f"{ours} − {other} = {gap['gap']:+.4f} ± {gap['standard_error']:.4f} (standard error over {gap['folds']} splits); "
            f"ahead on {gap['ahead']}, level on {gap['level']}, behind on {gap['behind']}; paired t-test p = {p:.2g}")


def scheme_verdict(folds: pd.DataFrame) -> tuple[list[str], dict]:
    mean = folds.groupby(level=0).mean(numeric_only=True)
    baselines = mean.loc[[b for b in LEARNED + SUPERVISED if b in mean.index], "aiq"]
    best = baselines.idxmax()
    router = mean.loc[ROUTER]
    per_fold = folds.loc[[ROUTER]].set_index("fold")
    below = int((per_fold["aiq"] < per_fold["best_single_aiq"] - 1e-9).sum())
    short = int((per_fold["max_quality"] < per_fold["best_single_quality"] - 0.005).sum())
    ratio = router["aiq"] / baselines.max()
    cost = router["cost_at_best_single"]
    lines = [f"router AIQ {router['aiq']:.4f} = {ratio:.3f} × the best baseline ({best} {baselines.max():.4f}); "
             f"target ≥ {TARGET_RATIO}×: {'met' if ratio >= TARGET_RATIO else 'MISSED'}",
             _gap_line(per_fold, folds, best)]
    if "linear" in mean.index and best != "linear":
        lines.append(_gap_line(per_fold, folds, "linear"))
    if NETWORK_ALONE in mean.index:
        lines.append(_gap_line(per_fold, folds, "linear", NETWORK_ALONE))
    lines.append(f"best single model's quality reached at {cost:.0%} of its cost (target ≤ {TARGET_COST:.0%})"
                 if np.isfinite(cost) else "best single model's quality not reached on the mean over splits")
    lines.append(f"router AIQ below the best single model's on {below} of {len(per_fold)} splits; best quality more than "
                 f"0.005 short of that model's on {short}")
    return lines, {"router": float(router["aiq"]), "best_baseline": best, "best_baseline_aiq": float(baselines.max()),
                   "ratio": float(ratio), "below_single": below}


def run(name: str, data, seed: int, encoder, finetune_layers: int, fold_tables, summarise) -> None:
    """All schemes on one set; prints the tables and writes benchmarks/results/routing_shift-<name>.json."""
    started = time.perf_counter()
    tables, notes, headline = [], [], {"set": name, "queries": len(data), "models": len(data.candidates)}
    for scheme in SCHEMES:
        pairs = splits(scheme, data, seed=0)
        sizes = ", ".join(f"{len(tr)}/{len(te)}" for tr, te in pairs)
        folds = fold_tables(data, len(pairs), seed, encoder, finetune_layers, splits=pairs)
        summary = summarise(folds).rename_axis("router")
        title = f"{name}, {SCHEME_TEXT[scheme]}: {len(pairs)} split(s), training/test queries {sizes}"
        print(f"\n## {title}")
        with pd.option_context("display.width", 250, "display.max_columns", 30, "display.max_rows", 100):
            print(summary.to_string(float_format=lambda x: f"{x:.4f}"))
        lines, head = scheme_verdict(folds)
        for line in lines:
            print(f"- {line}")
        tables.append(Table(title, summary))
        notes += [f"{scheme}: {line}" for line in lines]
        headline.update({f"{scheme} router AIQ": head["router"], f"{scheme} best baseline": head["best_baseline"],
                         f"{scheme} ratio": head["ratio"]})
        # Written after every scheme, so a long run that stops early keeps the schemes it finished.
        write_result(f"routing_shift-{name}", command_line(), tables,
                     notes=["Each table: mean and std over the scheme's splits, measured on its test rows; "
                            "cost_at_best_single: share of the best single model's cost at which the curve reaches its "
                            "quality", *notes], seconds=time.perf_counter() - started, summary=headline)
