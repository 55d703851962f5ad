"""Starting the router server for a test: a free port on 127.0.0.1, a LiteLLM config pointing at the fake upstream,
the official openai client, and the decision log the server wrote."""
from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import yaml

from router_core import Router

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_ROUTER = ROOT / "sample_data" / "router"
ROUTING_LIMIT_MS = 30_000
WAIT_S = 60  # longest wait for a state a test expects (a log row, a health check) on a busy machine
MATHS = "Prove that the square root of 2 is irrational, step by step"
CHAT = "hey! how was your weekend lol"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def models_yaml(path: Path, base_url: str, router: Router) -> Path:
    entries = [{"model_name": c, "litellm_params": {"model": f"openai/{c}", "api_base": base_url, "api_key": "os.environ/FAKE_KEY"}}
               for c in router.candidates]
    entries.append({"model_name": "not-routed", "litellm_params": {"model": "openai/other", "api_base": base_url}})
    path.write_text(yaml.safe_dump({"model_list": entries}))
    return path


@contextmanager
def serve(*args: str, log_dir: Path, env_extra: dict | None = None, started: list | None = None):
    """`python -m router_core serve ...` on a free port; yields its base URL once /health answers."""
    port = free_port()
    env = {**os.environ, "FAKE_KEY": "sk-fake", **(env_extra or {})}
    if "--routing-timeout-ms" not in args:  # a busy test machine must not turn a routing test into a fallback test
        args = (*args, "--routing-timeout-ms", str(ROUTING_LIMIT_MS))
    command = [sys.executable, "-m", "router_core", "serve", "--port", str(port), "--log", str(log_dir), *args]
    with open(log_dir.parent / f"serve-{port}.log", "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        if started is not None:
            started.append(process)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"server exited {process.returncode}: {(log_dir.parent / f'serve-{port}.log').read_text()}")
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not become healthy")
                time.sleep(0.2)
            yield url
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()


def decisions(log_dir: Path, at_least: int = 1) -> list[dict]:
    """Every row of the decision log, once it holds at least `at_least` (the writer commits in the background)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        rows = _rows(log_dir)
        if len(rows) >= at_least:
            return rows
        assert time.monotonic() < deadline, f"the decision log holds {len(rows)} rows after {WAIT_S} s, expected {at_least}"
        time.sleep(0.05)


def decision(log_dir: Path, request_id: str) -> dict:
    """The row of one request (its `x-crossroute-request-id`, also the completion's id), once it is written."""
    deadline = time.monotonic() + WAIT_S
    while True:
        found = [r for r in _rows(log_dir) if r["request_id"] == request_id]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"no decision row for {request_id} after {WAIT_S} s"
        time.sleep(0.05)


def _rows(log_dir: Path) -> list[dict]:
    path = log_dir / "decisions.sqlite"
    if not path.exists():
        return []
    connection = sqlite3.connect(path, timeout=30)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in connection.execute("SELECT * FROM decisions ORDER BY id")]
    except sqlite3.OperationalError:  # the writer has not created the table yet
        return []
    finally:
        connection.close()


def client(url: str):
    import openai

    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=60)
