"""Adding a model without retraining, measured on real data against full retraining.

    .venv/bin/python benchmarks/add_model.py [--set llmrouter_train] [--held-out NAME,NAME,...] [--sizes 25,50,100,200]
                                             [--seed 0] [--draws 5]

Reads ../shared/data at run time (never copied into the repo). One 80/20 split by query (--seed). A router trained on
all models is the reference. For each held-out model: a router is trained on the other models only, then the
held-out model is added with `Router.with_candidate` from N labelled training queries (only its capability
embedding, read-out row and bias are trained; every other weight is frozen). Every router is measured on the same
held-out queries with all models: AIQ of the measured (not predicted) quality/cost curve.

Which N queries get labelled moves the result by a point or two at N = 100, so each size is measured on --draws
independent random samples and reported as the mean and the worst draw. Within a draw the samples are nested
(25 ⊂ 50 ⊂ 100 ⊂ 200): draw d takes the first N of a permutation of the training queries seeded by 1000 · seed + d.
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

ROOT = Path(__file__).resolve().parent.parent  # the data folder defaults to ROOT/../shared/data

from router_core.config import RouterConfig  # noqa: E402
from router_core.data.labelled import load_labelled  # noqa: E402
from router_core.evaluation.comparison import featurise  # noqa: E402
from router_core.model.encoder import Encoder  # noqa: E402
from router_core.policy.curves import compare, curve_from_scores, default_lams  # noqa: E402
from router_core.router import Router  # noqa: E402


def measured_aiq(router: Router, test, test_data) -> float:
    """AIQ on `test` with the router's columns put in the test set's model order."""
    scores = router.scores(test.queries)
    order = [router.candidates.index(c) for c in test.candidates]
    curve = curve_from_scores(scores.quality[:, order], scores.cost[:, order], test_data, default_lams(201), router.policy())
    return float(compare({"router": curve}, test_data).loc["router", "aiq"])


def default_held_out(train) -> list[str]:
    """The dearest, the cheapest and the median-quality model: three different kinds of newcomer."""
    mean_cost, mean_quality = train.cost.mean(axis=0), train.quality.mean(axis=0)
    names = train.candidates
    picks = [names[int(np.argmax(mean_cost))], names[int(np.argmin(mean_cost))],
             names[int(np.argsort(mean_quality)[len(names) // 2])]]
    return list(dict.fromkeys(picks))


def progress(message: str, started: float) -> None:
    print(f"[{time.perf_counter() - started:5.0f} s] {message}", file=sys.stderr, flush=True)


def sample_order(n_train: int, seed: int, draw: int) -> np.ndarray:
    """The order in which draw `draw` labels training queries; its first N are the N-query sample."""
    return np.random.default_rng(1000 * seed + draw).permutation(n_train)


def draw_stats(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (held-out model, N): mean AIQ, mean share of full retraining and the worst draw's share."""
    return rows.groupby(["held-out model", "N"], sort=False).agg(aiq=("AIQ", "mean"), share=("share", "mean"),
                                                                 worst=("share", "min"))


def summarise(stats: pd.DataFrame, sizes: list[int]) -> pd.DataFrame:
    """One row per held-out model, three columns per size, formatted for print."""
    table = {}
    for n in sizes:
        part = stats.xs(n, level="N")
        table[f"AIQ +{n}"] = part["aiq"].map("{:.4f}".format)
        table[f"share +{n}"] = part["share"].map("{:.2%}".format)
        table[f"worst +{n}"] = part["worst"].map("{:.2%}".format)
    return pd.DataFrame(table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--set", default="llmrouter_train")
    parser.add_argument("--held-out", default="", help="comma-separated models to hold out (default: dearest, cheapest, median quality)")
    parser.add_argument("--sizes", default="25,50,100,200", help="labelled queries of the new model")
    parser.add_argument("--seed", type=int, default=0, help="split and training seed")
    parser.add_argument("--draws", type=int, default=5, help="random labelled samples per size")
    args = parser.parse_args()
    path = Path(args.data_dir) / f"{args.set}.csv"
    if not path.exists():
        print(f"no data at {path}: this benchmark reads the real routing sets there", file=sys.stderr)
        return 2
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads")
    started = time.perf_counter()
    encoder = Encoder.load()
    data = load_labelled(path, missing="drop")
    train, test = data.split(0.2, args.seed)
    encoder.token_states(data.queries)
    test_data = featurise(test, encoder)
    config = RouterConfig.of(seed=args.seed)
    full = Router(config).fit(train, encoder=encoder, show_bar=False)
    full_aiq = measured_aiq(full, test, test_data)
    progress(f"full retraining fitted: AIQ {full_aiq:.4f}", started)
    sizes = [int(s) for s in args.sizes.split(",")]
    held_out = args.held_out.split(",") if args.held_out else default_held_out(train)
    rows = []
    for name in held_out:
        others = [c for c in data.candidates if c != name]
        base = Router(config).fit(train.models(others), encoder=encoder, show_bar=False)
        progress(f"router without {name} fitted; adding it from {args.draws} draws of {args.sizes} queries", started)
        for draw in range(args.draws):
            pool = sample_order(len(train), args.seed, draw)
            for n in sizes:
                samples = train.subset(np.sort(pool[:n])).models([name])
                aiq = measured_aiq(base.with_candidate(samples, seed=args.seed), test, test_data)
                rows.append({"held-out model": name, "N": n, "draw": draw, "AIQ": aiq, "share": aiq / full_aiq})
    print(f"\n## {args.set}: {len(data)} queries × {len(data.candidates)} models; train {len(train)} / test {len(test)} "
          f"(split seed {args.seed}); {args.draws} sample draws per size; {time.perf_counter() - started:.0f} s")
    print(f"full retraining on all {len(data.candidates)} models: AIQ {full_aiq:.4f} (measured on the test queries)")
    print("the model added to a router trained without it, from N labelled queries: AIQ (mean over draws) and its share "
          "of full retraining's, mean and worst draw")
    stats = draw_stats(pd.DataFrame(rows))
    with pd.option_context("display.width", 220, "display.max_columns", 20):
        print(summarise(stats, sizes).to_string())
    notes = [f"full retraining on all {len(data.candidates)} models: AIQ {full_aiq:.4f} (measured on the test queries)"]
    headline = {"set": args.set, "split seed": args.seed, "full retraining AIQ": full_aiq}
    if 100 in sizes:
        shares = stats.xs(100, level="N")["share"]
        within = f"within 2% of full retraining at 100 queries (mean over draws): {int((shares >= 0.98).sum())} of {len(shares)}"
        print(within)
        notes.append(within)
        headline.update({f"share at +100, {model}": share for model, share in shares.items()})
    # The same table with numbers, not text: AIQ (mean over draws), mean share of full retraining, worst draw's share.
    wide = pd.DataFrame({f"{column} +{n}": stats.xs(n, level="N")[key]
                         for n in sizes for column, key in (("AIQ", "aiq"), ("share", "share"), ("worst", "worst"))})
    write_result(f"add_model-{args.set}-seed{args.seed}", command_line(),
                 [Table(f"{args.set}: {len(data)} queries × {len(data.candidates)} models; train {len(train)} / test "
                        f"{len(test)} (split seed {args.seed}); {args.draws} sample draws per size. The model added to a "
                        "router trained without it, from N labelled queries: AIQ (mean over draws), its share of full "
                        "retraining's AIQ (mean) and the worst draw's share", wide.rename_axis("held-out model"))],
                 notes=notes, seconds=time.perf_counter() - started, summary=headline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
