"""Generated hostile traffic for the router server, and how to judge what came back. Shared by the tests (a fixed seed)
and `benchmarks/reliability.py` (any seed, larger counts).

Every case is judged into one outcome:
  ok            answered as asked (a 200 with a whole answer and a decision record; or the expected success)
  clear error   a 4xx OpenAI-style error object, a few kB at most, naming what is wrong
  crash         a 5xx the case did not call for, a body that is not JSON, or an error object over the size limit
  silent wrong  a success for a request that must be refused, or an answer without its decision record
  hang          no answer within the time limit
"""
from __future__ import annotations

import json
import random
import sqlite3
import string
import time
from pathlib import Path

OUTCOMES = ("ok", "clear error", "crash", "silent wrong", "hang")
MAX_ERROR_BYTES = 8_000
VALID_MESSAGES = [{"role": "user", "content": "Prove that the square root of 2 is irrational"}]


def _text(rng: random.Random, n: int) -> str:
    alphabet = string.ascii_letters + string.digits + " .,;:!?/\\\"'{}[]()<>#*_~`|$%&@^=+-" + "λé中😀\u202e\u200b"
    return "".join(rng.choice(alphabet) for _ in range(n))


def _value(rng: random.Random, depth: int = 0):
    """A random JSON-ish value: scalars of every kind, nested lists and objects (three levels at most)."""
    kind = rng.randrange(10 if depth < 3 else 7)
    if kind == 7:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if kind == 8:
        return {_text(rng, 5): _value(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    if kind == 9:
        return "\ud800"
    return [None, True, rng.randint(-10**6, 10**6), rng.uniform(-1e6, 1e6), _text(rng, rng.randint(0, 30)),
            float("nan"), 10**400][kind]


def _dumps(body) -> bytes:
    return json.dumps(body, ensure_ascii=True, default=str).encode()  # NaN stays NaN: not JSON, which the server must say


def hostile_request(rng: random.Random) -> tuple[str, str, dict, bytes, bool]:
    """(method, path, headers, body, must_refuse): a request built by breaking a valid chat request one way."""
    body = {"model": rng.choice(["crossroute", "crossroute-0.3", "crossroute-1", "crossroute-0.3-k2"]),
            "messages": [dict(m) for m in VALID_MESSAGES]}
    headers = {"content-type": "application/json"}
    kind = rng.randrange(16)
    must_refuse = True
    if kind == 0:  # a field of the request with a wrong value
        field = rng.choice(["model", "messages", "stream", "temperature", "top_p", "n", "max_tokens", "logprobs", "tools",
                            "stop", "seed", "response_format", "crossroute", "tool_choice", "presence_penalty"])
        body[field] = _value(rng)
        must_refuse = None  # some values happen to be valid
    elif kind == 1:  # a message broken
        message = body["messages"][0]
        message[rng.choice(["role", "content"])] = _value(rng)
        must_refuse = None
    elif kind == 2:
        body["crossroute"] = {"lambda": rng.choice([-0.1, 1.5, float("inf"), "0.3", True, 10**400, None])}
        must_refuse = body["crossroute"]["lambda"] is not None
    elif kind == 3:
        body["model"] = rng.choice(["gpt-4", "crossroute-2", "crossroute-0.3-k99", "crossroute--1", "", "CROSSROUTE"])
    elif kind == 4:
        body["crossroute"] = {rng.choice(["models", "exclude"]): rng.choice([["nope"], "gpt-9", 3, [], [None]])}
        must_refuse = body["crossroute"] != {"exclude": []}
    elif kind == 5:
        body["crossroute"] = {rng.choice(["max_cost_usd", "min_quality"]): rng.choice([-1, 0, "x", 1e-12, 2, None])}
        must_refuse = None
    elif kind == 6:  # nested deep
        depth = rng.randint(70, 3000)
        raw = '{"model": "crossroute", "messages": [{"role": "user", "content": "x"}], "x": ' + "[" * depth + "]" * depth + "}"
        return "POST", "/v1/chat/completions", headers, raw.encode(), True
    elif kind == 7:  # not JSON at all
        return "POST", "/v1/chat/completions", headers, rng.choice([b"{not json", b"", b"\xff\xfe\x00", b"[1, 2]", b"null",
                                                                    _text(rng, 50).encode("utf-8", "surrogatepass")]), True
    elif kind == 8:  # a lone surrogate in the prompt
        raw = '{"model": "crossroute", "messages": [{"role": "user", "content": "hi \\ud800 there"}]}'
        return "POST", "/v1/chat/completions", headers, raw.encode(), True
    elif kind == 9:  # a lone surrogate where only the log keeps it: answered, logged escaped
        raw = '{"model": "crossroute", "user": "bob\\udfff", "messages": [{"role": "user", "content": "hey there"}]}'
        return "POST", "/v1/chat/completions", headers, raw.encode(), False
    elif kind == 10:
        body["messages"] = rng.choice([[], [{"role": "assistant", "content": "no user"}], [{"role": "user"}],
                                       [{"role": "user", "content": ""}], "hello", [[]]])
    elif kind == 11:  # soft routing with what it cannot merge
        body["model"] = "crossroute-0.3-k2"
        body[rng.choice(["n", "logprobs", "tools"])] = rng.choice([2, True, [{"type": "function", "function": {"name": "f"}}]])
        must_refuse = True
    elif kind == 12:  # another path or method
        return (rng.choice(["GET", "PUT", "DELETE", "PATCH"]), rng.choice(["/v1/chat/completions", "/v1/nothing", "/admin",
                                                                           "/v1/models/x", "/" + _text(rng, 8).replace("/", "")]),
                headers, b"", True)
    elif kind == 13:  # a fine request: answered, with its decision record
        body["messages"][0]["content"] = f"Fine request {rng.randint(0, 10**9)}: explain photosynthesis"
        must_refuse = False
    elif kind == 14:
        body["stream"] = rng.choice(["yes", 1, None, True])
        must_refuse = body["stream"] not in (None, True)
    else:
        body[_text(rng, 6)] = _value(rng)  # an unknown field: passed on to LiteLLM
        must_refuse = None
    return "POST", "/v1/chat/completions", headers, _dumps(body), must_refuse


def judge(status: int | None, content: bytes, must_refuse: bool | None, recorded: bool | None,
          upstream_may_fail: bool = False) -> str:
    """One case's outcome. `recorded`: whether a 200 answer has its decision record (None: not checked). A 502 (every
    model failed) is right only when the upstream was told to fail; otherwise a request the server should have refused
    reached the models."""
    if status is None:
        return "hang"
    if status >= 500 and not (status == 502 and upstream_may_fail):
        return "crash"
    try:
        body = json.loads(content) if content and not content.startswith(b"data:") else {}
    except ValueError:
        return "crash"
    if 400 <= status < 500 or status == 502:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict) or not error.get("message") or len(content) > MAX_ERROR_BYTES:
            return "crash"
        return "clear error" if status < 500 else "ok"
    if must_refuse is True:
        return "silent wrong"
    if recorded is False:
        return "silent wrong"
    return "ok"


def policy_text(rng: random.Random) -> tuple[str, bool | None]:
    """A λ policy file's text and whether it is valid (None: it may be either)."""
    kind = rng.randrange(12)
    if kind == 0:
        return f"lambda: {rng.choice([0, 0.3, 1, 0.75])}\n", True
    if kind == 1:
        return f"budget: {{daily_usd: {rng.choice([1, 50, 0.01])}, floor: 0.1}}\ntimezone: Europe/Berlin\n", True
    if kind == 2:
        return "schedule: {hours: [" + ", ".join(str(rng.choice([0, 0.5, 1])) for _ in range(24)) + "]}\n", True
    if kind == 3:
        return "lambda: 1" + "0" * rng.randint(300, 6000) + "\n", False
    if kind == 4:
        return "lambda: 0.1\nlambda: 0.2\n", False
    if kind == 5:  # a YAML bomb
        lines = ["a: &a [x, x, x, x, x, x, x, x, x]"] + [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}] " for i in range(9)]
        return "\n".join(lines) + "\nlambda: *j\n", False
    if kind == 6:
        return rng.choice(["lambda: 0x1", "lambda: 1_0", "lambda: .nan", "lambda: yes", "lambda: '0.3'", "lambda: -0"]) + "\n", None
    if kind == 7:
        return "schedule: {weekdays: {mon: [0.1]}}\n", False
    if kind == 8:
        return _text(rng, rng.randint(0, 200)), None
    if kind == 9:
        return "budget: {daily_usd: 50, floor: 0.9, ceiling: 0.1}\n", False
    if kind == 10:
        return "lambda_by_weekday_hour: [" + ", ".join(["0.2"] * 24) + "]\nname: legacy\n", True
    return "fitted_budget: {daily_usd: 5}\n", False  # a valid file, but a server cannot follow it


def timed_request(client, method: str, path: str, headers: dict, body: bytes, timeout: float) -> tuple[int | None, bytes, dict]:
    started = time.monotonic()
    try:
        response = client.request(method, path, headers=headers, content=body, timeout=timeout)
    except Exception:  # noqa: BLE001 - a timeout or a dropped connection: judged a hang
        return None, b"", {"seconds": time.monotonic() - started}
    return response.status_code, response.content, dict(response.headers)


def admin_case(rng: random.Random, token: str) -> tuple[dict, bytes, int | None]:
    """(headers, body, the status a PUT /admin/lambda-policy must give; None: 200 or 400 by the text)."""
    text, valid = policy_text(rng)
    auth = rng.choice([f"Bearer {token}", f"bearer {token}", "Bearer wrong", "", f"Basic {token}", f"Bearer {token}x"])
    headers = {"authorization": auth} if auth else {}
    if auth.lower() != f"bearer {token}":
        return headers, text.encode("utf-8", "surrogatepass"), 401
    return headers, text.encode("utf-8", "surrogatepass"), None if valid is None else 200 if valid else 400


def _rows_by_id(log_dir: Path) -> dict:
    connection = sqlite3.connect(log_dir / "decisions.sqlite", timeout=30)
    try:
        return {r[0]: r[1] for r in connection.execute("SELECT request_id, status FROM decisions")}
    finally:
        connection.close()


def wait_for_rows(log_dir: Path, ids: set, seconds: float = 60) -> dict:
    """request_id -> status of the decision log, once it holds every id of `ids` (or after `seconds`)."""
    deadline = time.monotonic() + seconds
    while True:
        rows = _rows_by_id(log_dir)
        if ids <= set(rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def request_fuzz(url: str, log_dir: Path, seed: int, cases: int) -> dict:
    """`cases` hostile chat requests against a running server: {outcome: [(method, path, body, status, content)]}, with
    "unrecorded" for answered requests the decision log does not hold."""
    import httpx

    rng = random.Random(seed)
    outcomes, answered = {o: [] for o in OUTCOMES}, set()
    with httpx.Client(base_url=url) as client:
        for _ in range(cases):
            method, path, headers, body, must_refuse = hostile_request(rng)
            status, content, response_headers = timed_request(client, method, path, headers, body, timeout=60)
            if status == 200:
                answered.add(response_headers.get("x-crossroute-request-id"))
            outcomes[judge(status, content, must_refuse, None)].append((method, path, body[:120], status, content[:200]))
    rows = wait_for_rows(log_dir, answered)
    outcomes["unrecorded"] = sorted(answered - set(rows), key=str)
    return outcomes


def admin_fuzz(url: str, token: str, seed: int, cases: int) -> dict:
    """`cases` PUT /admin/lambda-policy calls with generated tokens and texts: {"ok"|"wrong": [...]}. Wrong is a status
    other than the token and text call for, or an answer over the size limit. The policy is put back to λ 0.3."""
    import httpx

    rng = random.Random(seed)
    outcomes = {"ok": [], "wrong": []}
    with httpx.Client(base_url=url) as client:
        for _ in range(cases):
            headers, body, expected = admin_case(rng, token)
            response = client.put("/admin/lambda-policy", headers=headers, content=body, timeout=60)
            fine = len(response.content) < MAX_ERROR_BYTES and (
                expected is None and response.status_code in (200, 400) or response.status_code == expected)
            outcomes["ok" if fine else "wrong"].append((body[:80], expected, response.status_code, response.content[:200]))
        client.put("/admin/lambda-policy", headers={"authorization": f"Bearer {token}"}, content=b"lambda: 0.3\n")
    return outcomes


def policy_fuzz(seed: int, cases: int) -> dict:
    """`cases` generated policy texts through the parser and the server's check: {"ok"|"clear error"|"wrong"|"crash"}.
    A refusal must be one line starting with the file name; a text known valid or invalid must come out so."""
    from router_core.errors import RouterInputError
    from router_core.live.policy import read_policy
    from router_core.live.serving import check_servable

    rng = random.Random(seed)
    outcomes = {"ok": [], "clear error": [], "wrong": [], "crash": []}
    for _ in range(cases):
        text, valid = policy_text(rng)
        try:
            check_servable(read_policy(text, "policy.yaml"))
            accepted = True
        except RouterInputError as e:
            accepted = False
            message = str(e)
            if not message.startswith("policy.yaml") and "fitted_budget" not in message or "\n" in message or len(message) > 2000:
                outcomes["wrong"].append((text[:60], message[:200]))
                continue
        except Exception as e:  # noqa: BLE001 - anything else is a crash of the parser
            outcomes["crash"].append((text[:60], f"{type(e).__name__}: {e}"[:200]))
            continue
        if valid is not None and accepted != valid:
            outcomes["wrong"].append((text[:60], f"expected valid={valid}"))
        else:
            outcomes["ok" if accepted else "clear error"].append(text[:60])
    return outcomes


def leave_mid_stream(url: str, log_dir: Path, fake, model: str, n: int) -> dict:
    """`n` streamed requests to `model` (made slow) whose client leaves after the first chunk: {"recorded": ids recorded
    as cancelled, "wrong": ids recorded otherwise, "unrecorded": ids with no record}."""
    import httpx

    fake.set(model, "slow")
    left = set()
    try:
        for i in range(n):
            with httpx.stream("POST", f"{url}/v1/chat/completions", timeout=60, json={
                    "model": "crossroute", "crossroute": {"models": [model]}, "stream": True,
                    "messages": [{"role": "user", "content": f"Prove theorem {i}"}]}) as r:
                for line in r.iter_lines():
                    if line.startswith("data: {"):
                        left.add(r.headers["x-crossroute-request-id"])
                        break
    finally:
        fake.set(model, "ok")
    rows = wait_for_rows(log_dir, left)
    return {"recorded": [i for i in left if rows.get(i) == "cancelled"],
            "wrong": [i for i in left if i in rows and rows[i] != "cancelled"],
            "unrecorded": [i for i in left if i not in rows]}


def upstream_chaos(url: str, log_dir: Path, fake, models: list[str], seed: int, n: int, clients: int = 16) -> dict:
    """`n` requests (hard, soft, streamed) from `clients` at once while each model fails, drops the connection or
    answers malformed JSON at random: {outcome: [...]} as `judge` has it (a 502 is right here: every model may fail),
    with "unrecorded" for answered requests the log does not hold."""
    import asyncio

    import httpx

    rng = random.Random(seed)

    async def run():
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
            gate = asyncio.Semaphore(clients)

            async def one(i):
                async with gate:
                    for model in models:
                        fake.set(model, rng.choice(["ok", "ok", "fail", "drop", "malformed"]))
                    try:
                        response = await client.post("/v1/chat/completions", json={
                            "model": rng.choice(["crossroute", "crossroute-0.7", "crossroute-0.3-k2"]),
                            "stream": rng.random() < 0.3, "messages": [{"role": "user", "content": f"Chaos request {i}"}]})
                    except httpx.HTTPError:
                        return None, None, b""
                    return response.status_code, response.headers.get("x-crossroute-request-id"), response.content

            return await asyncio.gather(*(one(i) for i in range(n)))

    try:
        results = asyncio.run(run())
    finally:
        for model in models:
            fake.set(model, "ok")
    outcomes = {o: [] for o in OUTCOMES}
    for status, request_id, content in results:
        body = b"" if content.startswith(b"data:") else content
        outcomes[judge(status, body, False, None, upstream_may_fail=True)].append((status, request_id, content[:200]))
    answered = {request_id for status, request_id, _ in results if status == 200}
    rows = wait_for_rows(log_dir, answered)
    outcomes["unrecorded"] = sorted(answered - set(rows), key=str)
    return outcomes


def slow_clients(url: str, n: int, seconds: float = 60) -> dict:
    """`n` connections that send part of a request's headers and never the rest, while /health is asked: {"cut_off",
    "still_open": connections the server closed or held after `seconds`, "health": its status meanwhile}."""
    import socket

    import httpx

    host, port = url.removeprefix("http://").split(":")
    sockets = [socket.create_connection((host, int(port))) for _ in range(n)]
    try:
        for s in sockets:
            s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")  # never finished
        health = httpx.get(f"{url}/health", timeout=30).status_code
        deadline = time.monotonic() + seconds
        still_open = list(sockets)
        while still_open and time.monotonic() < deadline:
            for s in list(still_open):
                s.setblocking(False)
                try:
                    if s.recv(1024) == b"":
                        still_open.remove(s)
                except BlockingIOError:
                    pass
                except OSError:
                    still_open.remove(s)
            time.sleep(0.2)
    finally:
        for s in sockets:
            s.close()
    return {"cut_off": n - len(still_open), "still_open": len(still_open), "health": health}
