"""Routing a chat request as the server reads it: does reading the conversation change routing on labelled queries?

    .venv/bin/python benchmarks/conversation_routing.py [--sets sample,alpacaeval2] [--fold 0]

For each set, a router is trained on four folds of five and measured on the fifth (held-out queries, measured
quality and cost). Each held-out query is routed three ways: its own text (what `evaluate` does); as the server reads
a single-turn request with it (`data.messages.conversation`, one user message); and as the server reads it behind a
generic system prompt, whose start the router then also reads. The first two must be identical; the third measures
what a system prompt's summary costs or gains. Reads ../shared/data at run time (never copied into the repo).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from results_io import Table, command_line, write_result  # noqa: E402

from router_core import Router, RouterConfig  # noqa: E402
from router_core.data.catalog import load_catalog  # noqa: E402
from router_core.data.labelled import load_labelled  # noqa: E402
from router_core.data.messages import conversation  # noqa: E402
from router_core.policy.curves import measure  # noqa: E402

SYSTEM = "You are a helpful assistant. Answer the user's question accurately and concisely."


def load(name: str, data_dir: Path):
    if name == "sample":
        catalog = load_catalog(ROOT / "sample_data" / "catalog.csv")
        return load_labelled(ROOT / "sample_data" / "labelled.csv", catalog), catalog
    path = data_dir / f"{name}.csv"
    if not path.exists():
        raise SystemExit(f"{path}: not found (the shared routing data sits beside the clone in ../shared/data)")
    return load_labelled(path, missing="drop"), None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="sample,alpacaeval2")
    parser.add_argument("--fold", type=int, default=0, help="the held-out fold of five (default 0)")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    args = parser.parse_args()
    started = time.perf_counter()
    rows = []
    for name in args.sets.split(","):
        data, catalog = load(name, Path(args.data))
        train, test = data.folds(5, 0)[args.fold]
        router = Router(RouterConfig()).fit(train, catalog, show_bar=False)
        queries = list(test.queries)
        variants = {
            "query text (evaluate)": queries,
            "single-turn request": [conversation([{"role": "user", "content": q}]).routing_text for q in queries],
            "behind a system prompt": [conversation([{"role": "system", "content": SYSTEM},
                                                     {"role": "user", "content": q}]).routing_text for q in queries],
        }
        policy = router.policy("linear")
        reference = None
        for variant, texts in variants.items():
            scores = router.scores(texts)
            _, summary = measure(scores.quality, scores.cost, test, policy)
            choices = policy.choose_each(scores.quality, scores.cost, np.linspace(0, 1, 21))
            changed = 0.0 if reference is None else float((choices != reference).mean())
            reference = choices if reference is None else reference
            rows.append({"set": name, "held-out queries": len(queries), "routed as": variant, "AIQ": summary["aiq"],
                         "decisions changed vs query text": changed})
            print(f"{name:>14} {variant:>24}: AIQ {summary['aiq']:.4f}, decisions changed {changed:.2%}", flush=True)
    import pandas as pd

    table = pd.DataFrame(rows)
    write_result("conversation_routing", command_line(sys.argv),
                 [Table("Routing quality (AIQ, measured on held-out labelled queries) by how the query is read", table)],
                 summary={"sets": args.sets, "seconds": round(time.perf_counter() - started)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
