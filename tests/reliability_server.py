"""The router server's surfaces under generated hostile input, for `benchmarks/reliability.py`: a server on the bundled
sample router in front of the fake upstream, fed broken chat requests, admin API calls and policy texts (the tests run
the same generators with a fixed seed), clients that leave mid-stream or trickle their headers, an upstream failing
at random, and the server killed with SIGKILL under load."""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from fake_upstream import fake_upstream
from serve_support import SAMPLE_ROUTER, client, models_yaml, serve
from server_fuzz import admin_fuzz, leave_mid_stream, policy_fuzz, request_fuzz, slow_clients, upstream_chaos

from router_core import Router

TOKEN = "s3cret"


@contextmanager
def fuzz_server(folder: Path):
    """A server on the sample router at λ 0.3 with an admin token, in front of a fake upstream that keeps no call list:
    yields (url, log folder, the fake upstream, the router)."""
    router = Router.load(SAMPLE_ROUTER)
    with fake_upstream() as (upstream_url, fake):
        fake.record = False
        config = models_yaml(folder / "config.yaml", upstream_url, router)
        (folder / "policy.yaml").write_text("lambda: 0.3\n")
        with serve("--models", str(config), "--lambda-policy", str(folder / "policy.yaml"), "--admin-token-env", "ADMIN",
                   "--client-timeout", "3", "--upstream-timeout", "5", "--retries", "0", log_dir=folder / "log",
                   env_extra={"ADMIN": TOKEN}) as url:
            yield url, folder / "log", fake, router


def kill_under_load(rounds: int, seed: int, clients: int = 8) -> dict:
    """`rounds` times: a server answering `clients` at once is killed with SIGKILL after a random number of answers.
    {"answered", "unrecorded": answered requests the log lacks, "damaged": logs failing SQLite's integrity check or
    holding a partial record}."""
    rng = random.Random(seed)
    router = Router.load(SAMPLE_ROUTER)
    counts = {"answered": 0, "unrecorded": 0, "damaged": 0}
    with fake_upstream() as (upstream_url, fake):
        fake.record = False
        for round_ in range(rounds):
            with tempfile.TemporaryDirectory() as tmp:
                folder, started, answered = Path(tmp), [], []
                config = models_yaml(folder / "config.yaml", upstream_url, router)
                kill_after = rng.randint(5, 80)
                with serve("--models", str(config), log_dir=folder / "log", started=started) as url:
                    def one(i, url=url):
                        try:
                            reply = client(url).chat.completions.create(model="crossroute", messages=[
                                {"role": "user", "content": f"Round {round_} request {i}: summarise the water cycle"}])
                            answered.append(reply.id)
                        except Exception:  # noqa: BLE001 - the server is killed under some of them
                            pass

                    with ThreadPoolExecutor(clients) as pool:
                        futures = [pool.submit(one, i) for i in range(kill_after + 100)]
                        while len(answered) < kill_after and not all(f.done() for f in futures):
                            time.sleep(0.01)
                        os.killpg(started[0].pid, signal.SIGKILL)
                        for future in futures:
                            future.result()
                connection = sqlite3.connect(folder / "log" / "decisions.sqlite")
                try:
                    whole = connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                    rows = connection.execute("SELECT request_id, model, status, cost_usd FROM decisions").fetchall()
                finally:
                    connection.close()
                partial = [r for r in rows if r[1] not in router.candidates or r[2] != "ok" or not r[3] > 0]
                counts["answered"] += len(answered)
                counts["unrecorded"] += len(set(answered) - {r[0] for r in rows})
                counts["damaged"] += int(not whole or bool(partial))
    return counts


def server_surfaces(seed: int, cases: int, kill_rounds: int = 10) -> dict[str, dict[str, int]]:
    """{surface: {tried, ok, clear_errors, crashes, silent_wrong, hangs, unrecorded}} for each surface."""
    with tempfile.TemporaryDirectory() as tmp, fuzz_server(Path(tmp)) as (url, log_dir, fake, router):
        requests = request_fuzz(url, log_dir, seed, cases)
        admin = admin_fuzz(url, TOKEN, seed + 1, cases)
        chaos = upstream_chaos(url, log_dir, fake, router.candidates, seed + 3, cases)
        left = leave_mid_stream(url, log_dir, fake, router.candidates[0], max(10, cases // 20))
        slow = slow_clients(url, max(20, cases // 20))
    policies = policy_fuzz(seed + 2, cases)
    killed = kill_under_load(kill_rounds, seed + 4)

    def row(ok=0, clear=0, crashes=0, wrong=0, hangs=0, unrecorded=0) -> dict[str, int]:
        return {"tried": ok + clear + crashes + wrong + hangs, "ok": ok, "clear_errors": clear, "crashes": crashes,
                "silent_wrong": wrong, "hangs": hangs, "unrecorded": unrecorded}

    def counted(outcomes: dict) -> dict[str, int]:
        n = {k: len(v) for k, v in outcomes.items()}
        return row(n["ok"], n["clear error"], n["crash"], n["silent wrong"], n["hang"], n["unrecorded"])

    answered = killed["answered"]
    return {"chat requests": counted(requests),
            "admin λ-policy calls": row(len(admin["ok"]), wrong=len(admin["wrong"])),
            "policy texts": row(len(policies["ok"]), len(policies["clear error"]), len(policies["crash"]),
                                len(policies["wrong"])),
            "upstream failing at random (16 clients)": counted(chaos),
            "clients leaving mid-stream": {**row(len(left["recorded"]), wrong=len(left["wrong"])),
                                           "tried": sum(map(len, left.values())), "unrecorded": len(left["unrecorded"])},
            "clients trickling headers": row(slow["cut_off"], hangs=slow["still_open"], crashes=int(slow["health"] != 200)),
            f"SIGKILL under load ({kill_rounds} kills)": {**row(answered - killed["unrecorded"], crashes=killed["damaged"]),
                                                          "tried": answered, "unrecorded": killed["unrecorded"]}}
