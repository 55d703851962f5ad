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


def decisions(log_dir: Path, settle: float = 0.5) -> list[dict]:
    time.sleep(settle)  # the writer commits every 50 ms
    connection = sqlite3.connect(log_dir / "decisions.sqlite")
    connection.row_factory = sqlite3.Row
    rows = [dict(r) for r in connection.execute("SELECT * FROM decisions ORDER BY id")]
    connection.close()
    return rows


def client(url: str):
    import openai

    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=60)
