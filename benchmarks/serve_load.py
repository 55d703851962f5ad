"""Load on the router server: what routing adds to each request, against a pass-through server, in one run.

    .venv/bin/python benchmarks/serve_load.py [--requests 5000] [--clients 50,8,1] [--latency 0.2] [--lam 0.5]

A fake OpenAI-compatible upstream on 127.0.0.1 (its own process) answers every call after a fixed latency. Two servers are started in
turn on 127.0.0.1 in front of it: the router (`python -m router_core serve` with the bundled sample router and a
model_list pointing at the fake) and a pass-through on the same stack that forwards to one model without routing
(passthrough_app.py). Each gets the same requests (real query texts from ../shared/data, in a fixed order) from
each number of concurrent clients in --clients (the first count gets every request, the others at most 1,000).
Reported: end-to-end latency, what each adds over the upstream's latency, the router's own routing time (arrival to
decision, from its decision log), the share of decisions degraded (taken from each model's typical quality and cost
because scoring could not keep up) and the share answered by the dearest model, throughput, errors, and each server's
resident memory over the run. Requests ask for λ = --lam (the model name crossroute-LAM).
The client, both servers and the fake upstream share this machine's cores, so every figure includes their contention.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import yaml
from results_io import Table, command_line, write_result

ROOT = Path(__file__).resolve().parent.parent

QUERY_SETS = ["routerarena.csv", "alpacaeval2.csv", "llmrouter_train.csv"]


def queries(data_dir: Path, n: int) -> list[str]:
    texts: list[str] = []
    for name in QUERY_SETS:
        path = data_dir / name
        if path.exists():
            texts += pd.read_csv(path, usecols=["query_id", "query"]).drop_duplicates("query_id")["query"].astype(str).tolist()
    if not texts:
        raise SystemExit(f"no query texts under {data_dir}: this benchmark reads the real routing sets there")
    rng = np.random.default_rng(0)
    return [texts[i] for i in rng.choice(len(texts), n, replace=len(texts) < n)]


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def start(command: list[str], env: dict, url: str, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(command, cwd=ROOT / "benchmarks", env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.kill()
    raise SystemExit(f"server not healthy: {log.read_text()[-2000:]}")


async def drive(url: str, prompts: list[str], clients: int, model: str) -> tuple[list[float], int, float]:
    latencies, errors = [], 0
    queue: asyncio.Queue = asyncio.Queue()
    for prompt in prompts:
        queue.put_nowait(prompt)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        async def worker():
            nonlocal errors
            while not queue.empty():
                prompt = queue.get_nowait()
                started = time.perf_counter()
                try:
                    response = await client.post("/v1/chat/completions",
                                                  json={"model": model, "messages": [{"role": "user", "content": prompt}]})
                    if response.status_code != 200:
                        errors += 1
                        continue
                except httpx.HTTPError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return latencies, errors, time.perf_counter() - began


def run(name: str, command: list[str], env: dict, port: int, prompts: list[str], clients: int, model: str,
        folder: Path) -> dict:
    url = f"http://127.0.0.1:{port}"
    process = start(command, env, url, folder / f"{name}.log")
    samples, stop = [], threading.Event()

    def sample():
        while not stop.is_set():
            samples.append(rss_kb(process.pid))
            stop.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    asyncio.run(drive(url, prompts[: max(clients * 2, 100)], clients, model))  # warm-up: connections, caches of code paths
    warm_rss = rss_kb(process.pid)
    latencies, errors, seconds = asyncio.run(drive(url, prompts, clients, model))
    stop.set()
    sampler.join()
    process.terminate()
    process.wait(timeout=30)
    ms = np.array(latencies) * 1000
    tail = samples[len(samples) // 2:] or [0]
    return {"name": name, "p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99)), "n": len(ms),
            "errors": errors, "rps": len(ms) / seconds, "rss_warm_mb": warm_rss / 1024, "rss_peak_mb": max(samples) / 1024,
            "rss_end_mb": samples[-1] / 1024 if samples else 0.0, "rss_second_half_mb": statistics.mean(tail) / 1024}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", default="50,8,1", help="concurrent clients, one run per value (default 50,8,1)")
    parser.add_argument("--lam", type=float, default=0.5, help="λ every request asks for (default 0.5)")
    parser.add_argument("--latency", type=float, default=0.2, help="the fake upstream's fixed latency in seconds (default 0.2)")
    args = parser.parse_args()
    data_dir = Path(args.data_dir)
    if not data_dir.is_dir():
        print(f"no data at {data_dir}: this benchmark reads the real routing sets there", file=sys.stderr)
        return 2
    prompts = queries(data_dir, args.requests)
    started = time.perf_counter()
    from router_core import Router

    router = Router.load(ROOT / "sample_data" / "router")
    dearest = max(router.catalog.candidates, key=lambda c: (c.output_usd_per_1m, c.input_usd_per_1m)).name
    from socket import socket

    ports = []
    for _ in range(3):
        with socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    upstream_url = f"http://127.0.0.1:{ports[2]}/v1"
    fake = subprocess.Popen([sys.executable, str(ROOT / "tests" / "fake_upstream.py"), str(ports[2]), str(args.latency)])
    with tempfile.TemporaryDirectory(prefix="crossroute-load-") as tmp:
        folder = Path(tmp)
        config = folder / "config.yaml"
        config.write_text(yaml.safe_dump({"model_list": [
            {"model_name": c, "litellm_params": {"model": f"openai/{c}", "api_base": upstream_url, "api_key": "fake"}}
            for c in router.candidates]}))
        env = {**os.environ, "CROSSROUTE_PASSTHROUGH_BASE": upstream_url, "PYTHONPATH": str(ROOT / "benchmarks")}
        results = []
        for level, clients in enumerate(int(c) for c in args.clients.split(",")):
            sent = prompts if level == 0 else prompts[:1000]
            passthrough = run("pass-through (no routing)", [sys.executable, "-m", "uvicorn", "passthrough_app:app",
                                                            "--port", str(ports[0]), "--log-level", "warning"],
                              env, ports[0], sent, clients, "gpt-4o-mini", folder)
            log_dir = folder / f"decisions-{clients}"
            routed = run("CrossRoute router", [sys.executable, "-m", "router_core", "serve", "--models", str(config),
                                               "--port", str(ports[1]), "--log", str(log_dir), "--no-cache"],
                         env, ports[1], sent, clients, f"crossroute-{args.lam:g}", folder)
            connection = sqlite3.connect(log_dir / "decisions.sqlite")
            warm = len(sent[: max(clients * 2, 100)])  # the warm-up pass's rows come first
            measured = connection.execute("SELECT routing_ms, degraded, model FROM decisions ORDER BY id").fetchall()[warm:]
            connection.close()
            routing_ms = np.array([r[0] for r in measured])
            degraded = sum(1 for r in measured if r[1] is not None)
            dearest_share = sum(1 for r in measured if r[2] == dearest) / max(len(measured), 1)
            results.append((clients, passthrough, routed, routing_ms, degraded, dearest_share))
    fake.terminate()
    latency_ms = args.latency * 1000
    rows, summary = [], []
    one_at_a_time = next((share for clients, *_, share in results if clients == 1), None)
    for clients, passthrough, routed, routing_ms, degraded, dearest_share in results:
        for result in (passthrough, routed):
            rows.append({"clients": clients, "server": result["name"], "requests": result["n"], "errors": result["errors"],
                         "throughput (req/s)": round(result["rps"], 1), "p50 end to end (ms)": round(result["p50"], 1),
                         "p99 end to end (ms)": round(result["p99"], 1),
                         "p50 added over upstream (ms)": round(result["p50"] - latency_ms, 1),
                         "p99 added over upstream (ms)": round(result["p99"] - latency_ms, 1),
                         "routing p50 (ms)": round(float(np.percentile(routing_ms, 50)), 1) if result is routed else None,
                         "routing p99 (ms)": round(float(np.percentile(routing_ms, 99)), 1) if result is routed else None,
                         "degraded": f"{degraded / max(len(routing_ms), 1):.1%}" if result is routed else None,
                         f"answered by {dearest}": f"{dearest_share:.1%}" if result is routed else None,
                         "RSS after warm-up (MB)": round(result["rss_warm_mb"], 1),
                         "RSS peak (MB)": round(result["rss_peak_mb"], 1), "RSS at end (MB)": round(result["rss_end_mb"], 1)})
        summary.append({"clients": clients, "p50 over pass-through (ms)": routed["p50"] - passthrough["p50"],
                        "p99 over pass-through (ms)": routed["p99"] - passthrough["p99"],
                        "routing p50 (ms)": float(np.percentile(routing_ms, 50)),
                        "routing p99 (ms)": float(np.percentile(routing_ms, 99)),
                        "share degraded": degraded / max(len(routing_ms), 1), "dearest model share": dearest_share,
                        "dearest share one at a time": one_at_a_time, "errors": routed["errors"],
                        "RSS after warm-up (MB)": routed["rss_warm_mb"], "throughput vs pass-through": routed["rps"] / passthrough["rps"],
                        "router req/s": routed["rps"], "pass-through req/s": passthrough["rps"]})
    table = pd.DataFrame(rows).set_index(["clients", "server"])
    notes = [f"fake upstream: fixed {latency_ms:.0f} ms per call, its own process; {len(prompts):,} requests of real query "
             "texts (routerarena, alpacaeval2, llmrouter_train; fixed order) at the first client count, at most 1,000 at "
             "the others, each after a warm-up pass",
             *[f"{s['clients']} clients: CrossRoute adds p50 {s['p50 over pass-through (ms)']:+.1f} ms, p99 "
               f"{s['p99 over pass-through (ms)']:+.1f} ms over the pass-through; its routing time (arrival to decision, "
               f"from its decision log) p50 {s['routing p50 (ms)']:.1f} ms, p99 {s['routing p99 (ms)']:.1f} ms; "
               f"{s['share degraded']:.1%} of decisions degraded (routing limit 100 ms); {s['dearest model share']:.0%} "
               f"answered by {dearest}" for s in summary],
             "targets: 8 clients ≤ 2% degraded and the dearest model's share within 10 points of one at a time; 50 clients "
             "≤ 5% degraded, routing p50 ≤ 10 ms and p99 ≤ 50 ms, throughput ≥ 0.9× the pass-through's; ≤ 400 MB resident "
             "after warm-up",
             "every process (clients, both servers, the fake upstream) shares the machine's cores: added latency includes "
             "queueing for them; routing time counts the wait for the scorer"]
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(table.to_string())
    for line in notes:
        print(line)
    write_result("serve_load", command_line(), [Table("Router server under load vs a pass-through server (same run)", table)],
                 notes=notes, seconds=time.perf_counter() - started, summary=summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
