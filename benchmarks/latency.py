"""Routing latency and throughput: torch fp32, ONNX fp32 and ONNX int8 side by side, each in fresh subprocesses.

    .venv/bin/python benchmarks/latency.py [--router sample_data/router] [--repeats 5] [--log-queries 20000]

Per variant: one query end to end (tokenisation, encoder, head, pricing, decision; score caches off so every call
does the real work) p50/p95 with 1 and 2 threads; throughput on batches of 64 and on a log of distinct queries;
peak resident memory (VmHWM of the process that scored the log); cold start (a fresh process: imports, load,
first decision). Then the cached path: one λ move over 10,000 already-scored queries. Medians over --repeats runs.

Queries come from ../shared/data at run time (never copied into the repo), or, where that folder is absent, from the
synthetic sample data; the output says which. The ONNX variants are exported into a temporary copy of the router;
int8 is measured there whether or not its accuracy gate accepts it (the gate's verdict is printed beside it).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STARTED = time.perf_counter()  # cold start counts from here: before torch, transformers or onnxruntime are imported
ROOT = Path(__file__).resolve().parent.parent  # sample_data/ and dashboard_frame.py are found from here

VARIANTS = {"torch fp32": "torch", "ONNX fp32": "onnx-fp32", "ONNX int8": "onnx-int8"}
SHORT_QUERY = "Write a Python function that merges two sorted lists into one sorted list and explain its time complexity briefly"
DATA_FILES = ("llmrouter_train.csv", "routellm_mmlu.csv", "alpacaeval2.csv", "routellm_gsm8k.csv", "routerarena.csv")


def chat_prompts() -> list[str]:
    """The sample request log's distinct prompts: short chat-style requests, as a router in front of an LLM sees them."""
    import pandas as pd

    return list(dict.fromkeys(pd.read_csv(ROOT / "sample_data" / "request_log.csv")["prompt"].astype(str)))


def load_queries(data_dir: Path, n: int) -> tuple[list[str], str]:
    """Up to n distinct queries: real ones from data_dir, else the synthetic sample set (made distinct by a suffix)."""
    import pandas as pd

    files = [data_dir / name for name in DATA_FILES if (data_dir / name).exists()]
    if files:
        queries = list(dict.fromkeys(q for f in files for q in pd.read_csv(f, usecols=["query"])["query"].dropna().astype(str)))
        import random

        random.Random(0).shuffle(queries)
        return queries[:n], f"{min(n, len(queries)):,} distinct real queries from {', '.join(f.name for f in files)} ({data_dir})"
    base = list(dict.fromkeys(pd.read_csv(ROOT / "sample_data" / "labelled.csv")["query"].tolist()
                              + pd.read_csv(ROOT / "sample_data" / "request_log.csv")["prompt"].tolist()))
    queries = [q if i < len(base) else f"{q} (variant {i // len(base)})" for i, q in enumerate(base * (n // len(base) + 1))][:n]
    return queries, f"{n:,} synthetic queries from sample_data/ ({data_dir} not found)"


def percentiles(samples: list[float]) -> tuple[float, float]:
    import numpy as np

    return float(np.percentile(samples, 50)), float(np.percentile(samples, 95))


def peak_rss_mb() -> float:
    """This process's peak resident memory. Not ru_maxrss: Linux carries that over from the parent across fork + exec."""
    status = Path("/proc/self/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


def child(args) -> dict:
    """One variant in this fresh process; prints its figures as one JSON line."""
    import numpy as np

    if args.backend == "torch":
        import torch

        torch.set_num_threads(args.threads)
    from router_core.router import Router

    router = Router.load(args.folder, backend=args.backend, threads=args.threads)
    policy = router.policy()
    router.parts.pipeline.memory_cache_size = 0  # every call encodes: the figures measure real work, not cache hits
    router.route(SHORT_QUERY, 0.3)
    result = {"cold_start_s": time.perf_counter() - STARTED}

    def one_call(query: str) -> float:
        router.encoder.clear_cache()  # the torch encoder keeps token states of its own; outside the timed region
        started = time.perf_counter()
        router.route(query, 0.3)
        return time.perf_counter() - started

    queries = json.loads(Path(args.queries).read_text())
    short_runs, real_runs = [], []
    for repeat in range(args.repeats):
        for _ in range(10):
            one_call(SHORT_QUERY)  # warm caches of the runtime, not ours
        short_runs.append(percentiles([one_call(SHORT_QUERY) for _ in range(args.calls)]))
        real = queries[repeat * args.calls:(repeat + 1) * args.calls]
        real_runs.append(percentiles([one_call(q) for q in real]))
    result["short_p50_ms"] = statistics.median(r[0] for r in short_runs) * 1e3
    result["short_p95_ms"] = statistics.median(r[1] for r in short_runs) * 1e3
    result["real_p50_ms"] = statistics.median(r[0] for r in real_runs) * 1e3
    result["real_p95_ms"] = statistics.median(r[1] for r in real_runs) * 1e3
    if not args.throughput:
        return result

    def batch_rate(texts: list[str]) -> float:
        rates = []
        for start in range(0, 64 * args.repeats * 4, 64):
            batch = texts[start:start + 64]
            router.encoder.clear_cache()
            started = time.perf_counter()
            scores = router.scores(batch)
            policy.choose(scores.quality, scores.cost, 0.3, scores.weights)
            rates.append(len(batch) / (time.perf_counter() - started))
        return statistics.median(rates)
    result["batch64_qps"] = batch_rate(queries)
    result["chat_batch64_qps"] = batch_rate(chat_prompts())

    del router.parts.pipeline.memory_cache_size  # back to the class default: a log is scored with the cache on, as score-log does
    router.encoder.clear_cache()
    log = queries[:args.log_queries]
    started = time.perf_counter()
    scores = router.scores(log)
    policy.choose(scores.quality, scores.cost, 0.3, scores.weights)
    result["log_qps"] = len(log) / (time.perf_counter() - started)
    result["log_queries"] = len(log)
    result["peak_rss_mb"] = peak_rss_mb()

    cached = log[:10_000]
    started = time.perf_counter()
    scores = router.scores(cached)
    result["cached_scores_ms"] = (time.perf_counter() - started) * 1e3
    lams = np.linspace(0.0, 1.0, 21)

    def timed(action) -> float:
        samples = []
        for lam in lams:
            started = time.perf_counter()
            action(lam)
            samples.append(time.perf_counter() - started)
        return statistics.median(samples) * 1e3
    result["cached_n"] = len(cached)
    result["choices_ms"] = timed(lambda lam: policy.choose(scores.quality, scores.cost, lam, scores.weights))
    result["sweep_ms"] = timed(lambda lam: router.sweep(scores, [lam]))
    result["decide_ms"] = timed(lambda lam: router.decide(scores, lam))
    return result


def dashboard_child(args) -> dict:
    """The dashboard's first page in this fresh process, as the server runs its script (Streamlit's AppTest), with an
    empty score cache: imports, router load and the first routing decision on the Route page."""
    os.environ["CROSSROUTE_BACKEND"] = args.backend
    os.environ["CROSSROUTE_CACHE_DIR"] = args.cache_dir
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "dashboard_frame.py"), default_timeout=600).run()
    seconds = time.perf_counter() - STARTED
    if at.exception:
        raise SystemExit(f"dashboard failed with backend {args.backend}: {[e.value for e in at.exception]}")
    chosen = next(m.value for m in at.metric if m.label.startswith("Chosen model"))
    backend = next(c.value for c in at.sidebar.caption if "scored with" in c.value).split("scored with ")[1]
    return {"dashboard_cold_start_s": seconds, "chosen": chosen, "backend": backend}


def dashboard_cold_start(backend: str, workdir: Path, repeats: int) -> tuple[float, str]:
    """Median seconds over `repeats` fresh processes, each with its own empty score cache, and the backend it reported."""
    runs = []
    for repeat in range(repeats):
        cache = workdir / f"dashboard-cache-{backend}-{repeat}"
        command = [sys.executable, __file__, "--dashboard-child", "--backend", backend, "--cache-dir", str(cache)]
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            raise SystemExit(f"dashboard cold start with {backend} failed:\n{done.stderr[-3000:]}")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return statistics.median(r["dashboard_cold_start_s"] for r in runs), runs[0]["backend"]


def run_child(folder: Path, backend: str, threads: int, queries_file: Path, args, throughput: bool) -> dict:
    command = [sys.executable, __file__, "--child", "--folder", str(folder), "--backend", backend, "--threads", str(threads),
               "--queries", str(queries_file), "--repeats", str(args.repeats), "--calls", str(args.calls),
               "--log-queries", str(args.log_queries)] + (["--throughput"] if throughput else [])
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{backend} ({threads} threads) failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def prepare(folder: Path, workdir: Path, gate_data: Path, gate_sample: int) -> tuple[Path, dict]:
    """A copy of the router with fp32 and int8 graphs, int8 kept whatever the gate says (its figures are returned)."""
    from router_core.onnx_export import Int8Gate, export_onnx

    copy = workdir / "router"
    shutil.copytree(folder, copy)
    export_onnx(copy, int8=True, data=gate_data, sample=gate_sample, gate=Int8Gate(min_agreement=0.0, max_aiq_drop=1.0))
    return copy, json.loads((copy / "router.json").read_text())["onnx"]["int8_gate"]


def machine() -> str:
    import numpy
    import onnxruntime
    import torch
    import transformers

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown CPU")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"machine: {os.cpu_count()} cores, {model}, {platform.machine()}, Linux {platform.release()}; load average at start {load}\n"
            f"versions: Python {platform.python_version()}, torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, "
            f"transformers {transformers.__version__}, numpy {numpy.__version__}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--router", default=str(ROOT / "sample_data" / "router"), help="router artifact (default: the bundled one)")
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"), help="real queries (default ../shared/data)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per measurement; medians over them (default 5)")
    parser.add_argument("--calls", type=int, default=100, help="single-query calls per run (default 100)")
    parser.add_argument("--log-queries", type=int, default=20_000, help="distinct queries in the log throughput run (default 20000)")
    parser.add_argument("--gate-data", default=str(ROOT / "sample_data" / "labelled.csv"),
                        help="labelled set of the router's models for the int8 gate figures (default: the sample set)")
    parser.add_argument("--gate-sample", type=int, default=300, help="sample queries for this run's int8 gate figures (default 300)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--throughput", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=2, help=argparse.SUPPRESS)
    parser.add_argument("--queries", help=argparse.SUPPRESS)
    parser.add_argument("--dashboard-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return 0
    if args.dashboard_child:
        print(json.dumps(dashboard_child(args)), flush=True)
        os._exit(0)  # the dashboard's background warm-up thread would otherwise hold the process open

    setup_lines: list[str] = []  # printed now and kept for the result file

    def say(line: str) -> None:
        setup_lines.append(line)
        print(line)

    say(machine())
    from router_core.model.encoder import Encoder

    queries, origin = load_queries(Path(args.data_dir), max(args.log_queries, args.calls * args.repeats + 64 * args.repeats * 4))
    encoder = Encoder.load(lazy=True)
    tokens = sorted(int(n) for n in encoder.tokenize(queries[:2000])["attention_mask"].sum(dim=1))
    short_tokens = len(encoder.word_pieces(SHORT_QUERY))
    chat = sorted(int(n) for n in encoder.tokenize(chat_prompts()[:2000])["attention_mask"].sum(dim=1))
    say(f"real queries: {origin}; median {tokens[len(tokens) // 2]} tokens (truncated at 128)")
    say(f"chat queries: the {len(chat_prompts()):,} distinct prompts of sample_data/request_log.csv (synthetic), "
        f"median {chat[len(chat) // 2]} tokens")
    with tempfile.TemporaryDirectory(prefix="crossroute-latency-") as workdir:
        workdir = Path(workdir)
        started = time.perf_counter()
        folder, gate = prepare(Path(args.router), workdir, Path(args.gate_data), args.gate_sample)
        recorded = (json.loads((Path(args.router) / "router.json").read_text()).get("onnx") or {}).get("int8_gate")
        for where, figures in (("as recorded by its export-onnx", recorded), ("in this run", gate)):
            if figures:
                say(f"int8 gate {where}, {figures['n_queries']} queries of {Path(figures['data']).name}: decisions agree "
                    f"{figures['decision_agreement']:.1%} (needs 99%), AIQ {figures['aiq_fp32']:.4f} → {figures['aiq_int8']:.4f} "
                    f"({-figures['aiq_drop']:+.2%}; allowed −0.5%): "
                    f"{'accepted' if figures['decision_agreement'] >= 0.99 and figures['aiq_drop'] <= 0.005 else 'refused'}")
        say(f"(the int8 row below is measured either way; exporting fp32 and int8 took {time.perf_counter() - started:.0f} s)")
        queries_file = workdir / "queries.json"
        queries_file.write_text(json.dumps(queries))
        rows = {}
        for label, backend in VARIANTS.items():
            one = run_child(folder, backend, 1, queries_file, args, throughput=False)
            two = run_child(folder, backend, 2, queries_file, args, throughput=True)
            rows[label] = (one, two)
            print(f"  measured {label}", file=sys.stderr, flush=True)
        dashboard = {backend: dashboard_cold_start(backend, workdir, args.repeats) for backend in ("torch", "auto")}

    header = ["variant", f"{short_tokens}-token query p50/p95, 1 thread", "same, 2 threads", "real queries p50/p95, 2 threads",
              "batches of 64 real", "batches of 64 chat", f"{rows['ONNX int8'][1]['log_queries']:,}-query real log", "peak RSS",
              "cold start"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, (one, two) in rows.items():
        lines.append(f"| {label} | {one['short_p50_ms']:.1f} / {one['short_p95_ms']:.1f} ms | {two['short_p50_ms']:.1f} / {two['short_p95_ms']:.1f} ms "
                     f"| {two['real_p50_ms']:.1f} / {two['real_p95_ms']:.1f} ms | {two['batch64_qps']:.0f} q/s | {two['chat_batch64_qps']:.0f} q/s "
                     f"| {two['log_qps']:.0f} q/s "
                     f"| {two['peak_rss_mb']:.0f} MB | {two['cold_start_s']:.1f} s |")
    print("\n".join(lines))
    cached = rows["ONNX int8"][1]
    cached_title = f"cached path ({cached['cached_n']:,} already-scored queries, ONNX int8 process, medians over 21 λ values)"
    print(f"\n{cached_title}:")
    print(f"| step | time |\n|---|---|\n| Router.scores on the cached texts (hash, look up, price) | {cached['cached_scores_ms']:.0f} ms |\n"
          f"| λ move: Policy.choose (index array) | {cached['choices_ms']:.1f} ms |\n"
          f"| λ move: Router.sweep on cached scores, one λ | {cached['sweep_ms']:.1f} ms |\n"
          f"| λ move: Router.decide (a RouteDecision per query) | {cached['decide_ms']:.0f} ms |")
    (torch_s, _), (auto_s, auto_backend) = dashboard["torch"], dashboard["auto"]
    dashboard_line = (f"dashboard cold start (a fresh process running dashboard_frame.py in Streamlit's AppTest with an empty score cache: "
                      f"imports, router load, first decision on the Route page; median of {args.repeats}): torch {torch_s:.1f} s, "
                      f"default backend ({auto_backend}) {auto_s:.1f} s, {1 - auto_s / torch_s:.0%} faster")
    method = ("single-query figures include tokenisation, encoding, the router head, pricing and the decision, with the score "
              "caches off; throughput scores distinct queries (no repeats), so nothing comes from a cache; within each scores() call "
              "queries are sorted by length and encoded in batches (64 for torch, 4 for ONNX)")
    print(f"\n{dashboard_line}")
    print(f"\n{method}")
    write_latency_result(args, rows, short_tokens, cached, cached_title, dashboard, auto_backend,
                         notes=[*setup_lines, dashboard_line, method])
    return 0


def write_latency_result(args, rows: dict, short_tokens: int, cached: dict, cached_title: str, dashboard: dict,
                         auto_backend: str, notes: list[str]) -> None:
    """benchmarks/results/latency.json: the tables above as numbers (ms, queries per second, MB, s)."""
    import pandas as pd
    from results_io import Table, command_line, write_result

    variants = pd.DataFrame([{
        "variant": label,
        f"{short_tokens}-token query p50, 1 thread (ms)": one["short_p50_ms"],
        f"{short_tokens}-token query p95, 1 thread (ms)": one["short_p95_ms"],
        "same, p50, 2 threads (ms)": two["short_p50_ms"], "same, p95, 2 threads (ms)": two["short_p95_ms"],
        "real queries p50, 2 threads (ms)": two["real_p50_ms"], "real queries p95, 2 threads (ms)": two["real_p95_ms"],
        "batches of 64 real (q/s)": two["batch64_qps"], "batches of 64 chat (q/s)": two["chat_batch64_qps"],
        f"{two['log_queries']:,}-query real log (q/s)": two["log_qps"], "peak RSS (MB)": two["peak_rss_mb"],
        "cold start (s)": two["cold_start_s"]} for label, (one, two) in rows.items()])
    cached_steps = pd.DataFrame([
        {"step": "Router.scores on the cached texts (hash, look up, price)", "time (ms)": cached["cached_scores_ms"]},
        {"step": "λ move: Policy.choose (index array)", "time (ms)": cached["choices_ms"]},
        {"step": "λ move: Router.sweep on cached scores, one λ", "time (ms)": cached["sweep_ms"]},
        {"step": "λ move: Router.decide (a RouteDecision per query)", "time (ms)": cached["decide_ms"]}])
    (torch_s, _), (auto_s, _) = dashboard["torch"], dashboard["auto"]
    cold = pd.DataFrame([{"backend": "torch", "dashboard cold start (s)": torch_s},
                         {"backend": f"default ({auto_backend})", "dashboard cold start (s)": auto_s}])
    summary = [{"variant": label, "one query p50, 2 threads (ms)": two["short_p50_ms"],
                "real queries p50, 2 threads (ms)": two["real_p50_ms"], "batches of 64 real (q/s)": two["batch64_qps"],
                "cold start (s)": two["cold_start_s"]} for label, (_, two) in rows.items()]
    write_result("latency", command_line(),
                 [Table("Per variant, each in fresh processes; medians over the runs", variants),
                  Table(cached_title, cached_steps),
                  Table(f"Dashboard cold start (median of {args.repeats} fresh processes, empty score cache)", cold)],
                 notes=notes, seconds=time.perf_counter() - STARTED, summary=summary)


if __name__ == "__main__":
    sys.exit(main())
