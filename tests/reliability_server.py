"""The router server's surfaces under generated hostile input, for `benchmarks/reliability.py`: a server on the bundled
sample router in front of the fake upstream, fed broken chat requests, admin API calls and policy texts (the tests run
the same generators with a fixed seed)."""
from __future__ import annotations

import tempfile
from contextlib import contextmanager
from pathlib import Path

from fake_upstream import fake_upstream
from serve_support import SAMPLE_ROUTER, models_yaml, serve
from server_fuzz import admin_fuzz, policy_fuzz, request_fuzz

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


def server_surfaces(seed: int, cases: int) -> dict[str, dict[str, int]]:
    """{surface: {tried, ok, clear_errors, crashes, silent_wrong, hangs, unrecorded}} for each of the three surfaces."""
    with tempfile.TemporaryDirectory() as tmp, fuzz_server(Path(tmp)) as (url, log_dir, _, _):
        requests = request_fuzz(url, log_dir, seed, cases)
        admin = admin_fuzz(url, TOKEN, seed + 1, cases)
        policies = policy_fuzz(seed + 2, cases)

    def row(ok=0, clear=0, crashes=0, wrong=0, hangs=0, unrecorded=0) -> dict[str, int]:
        return {"tried": ok + clear + crashes + wrong + hangs, "ok": ok, "clear_errors": clear, "crashes": crashes,
                "silent_wrong": wrong, "hangs": hangs, "unrecorded": unrecorded}

    n = {k: len(v) for k, v in requests.items()}
    return {"chat requests": row(n["ok"], n["clear error"], n["crash"], n["silent wrong"], n["hang"], n["unrecorded"]),
            "admin λ-policy calls": row(len(admin["ok"]), wrong=len(admin["wrong"])),
            "policy texts": row(len(policies["ok"]), len(policies["clear error"]), len(policies["crash"]),
                                len(policies["wrong"]))}
