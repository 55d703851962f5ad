"""The OpenAI-compatible router server: POST /v1/chat/completions (plain and streamed), GET /v1/models, /health,
/metrics. The model name picks the behaviour (see names.py); every request gets an answer unless every model fails,
and one decision record."""
from __future__ import annotations

import asyncio
import hmac
import json
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from ..data import last_user_text
from ..errors import RouterInputError
from ..lambda_policy import LambdaPolicy
from .deciding import Decider, base_record, with_decision
from .decision_log import DecisionLog
from .live_policy import LivePolicy
from .metrics import Metrics
from .names import ROUTER_MODEL, RequestError, parse_ask
from ..encoder import estimate_tokens
from .upstream import AllModelsFailed, Call, Outcome, Upstream, _error_text

PASSED_THROUGH = ("temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "presence_penalty",
                  "frequency_penalty", "seed", "response_format", "tools", "tool_choice", "logit_bias")


@dataclass
class ServerOptions:
    lam: float = 0.2  # the server's λ for requests that name none
    policy: str = "linear"
    routing_timeout: float = 0.1  # seconds; past it the request goes to the fallback order
    log_prompts: bool = False  # the decision log keeps a hash of the prompt, and its text only when asked
    max_body_bytes: int = 4 * 2**20
    admin_token: str | None = None  # GET/PUT /admin/lambda-policy answer only with this bearer token; None: off


def _error(status: int, message: str, code: str, param: str | None = None, kind: str | None = None) -> JSONResponse:
    kind = kind or ("invalid_request_error" if status < 500 else "upstream_error")
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": code}}, status_code=status)


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(f"request body of {int(declared)} bytes is over this server's limit of {limit}", 413,
                           "request_too_large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(f"request body is over this server's limit of {limit} bytes", 413, "request_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(raw: bytes) -> dict:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RequestError(f"request body is not valid JSON ({e})", code="invalid_json") from e
    if not isinstance(body, dict):
        raise RequestError("request body must be a JSON object", code="invalid_json")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) and "role" in m for m in messages):
        raise RequestError("messages must be a non-empty list of {role, content} objects", param="messages")
    if not isinstance(body.get("stream", False), bool):
        raise RequestError("stream must be true or false", param="stream")
    return body


def _who(body: dict) -> tuple[str | None, str | None]:
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    user = body.get("user") if isinstance(body.get("user"), str) else metadata.get("user")
    team = metadata.get("team")
    return (str(user) if user is not None else None), (str(team) if team is not None else None)


def create_app(router, upstream: Upstream, log: DecisionLog | None, options: ServerOptions | None = None,
               live: LivePolicy | None = None) -> FastAPI:
    """The server. `router` scores on a worker thread; `log` (if given) gets one record per request; `live` is the λ
    policy in force (default: the constant options.lam)."""
    options = options or ServerOptions()
    metrics = Metrics()
    if log is not None:
        metrics.log_failures.set_function(lambda: log.failures)
    decider = Decider(router, options.policy, options.routing_timeout)
    live = live or LivePolicy(router, LambdaPolicy(lam=options.lam))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await decider.warm(live.lam()[0])  # before serving, not on a client's request
        watcher = asyncio.create_task(live.watch())
        try:
            yield
        finally:
            watcher.cancel()
            decider.close()
            if log is not None:
                log.close()

    app = FastAPI(title="CrossRoute router", version="1", lifespan=lifespan)
    app.state.router, app.state.options, app.state.metrics, app.state.upstream = router, options, metrics, upstream
    app.state.live = live

    def admin(request: Request) -> None:
        if options.admin_token is None:
            raise RequestError("the admin endpoint is off; start the server with --admin-token-env VAR to turn it on",
                               404, "not_found")
        given = request.headers.get("authorization", "")
        expected = f"Bearer {options.admin_token}"
        if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
            raise RequestError("missing or wrong bearer token", 401, "invalid_api_key")

    def policy_state() -> dict:
        lam, source = live.lam()
        return {"policy": live.policy.describe(), "lambda": lam, "source": source, "errors": live.errors}

    @app.get("/admin/lambda-policy")
    async def get_policy(request: Request):
        admin(request)
        return policy_state()

    @app.put("/admin/lambda-policy")
    async def put_policy(request: Request):
        admin(request)
        error = live.reload(await _body(request, 64 * 1024), "PUT /admin/lambda-policy")
        if error is not None:
            raise RequestError(error, 400, "invalid_lambda_policy")
        return policy_state()

    @app.exception_handler(RequestError)
    async def request_error(request: Request, error: RequestError):
        metrics.rejected.labels(str(error.status)).inc()
        return _error(error.status, str(error), error.code, error.param)

    @app.get("/health")
    async def health():
        lam, source = live.lam()
        return {"status": "ok", "router": router.id, "models": list(router.candidates), "lambda": lam, "lambda_source": source}

    @app.get("/v1/models")
    async def models():
        described = [{"id": ROUTER_MODEL, "object": "model", "created": 0, "owned_by": "crossroute"}]
        return {"object": "list", "data": described}

    @app.get("/metrics")
    async def prometheus():
        payload, content_type = metrics.render()
        return Response(payload, media_type=content_type)

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        arrived = time.time()
        body = _parse(await _body(request, options.max_body_bytes))
        ask = parse_ask(body.get("model"), body.get("crossroute"), len(router.candidates))
        try:
            prompt = last_user_text(body["messages"])
        except RouterInputError as e:
            raise RequestError(f"messages: {e}", param="messages") from e
        lam, lam_source = (ask.lam, "request") if ask.lam is not None else live.lam()
        params = {k: body[k] for k in PASSED_THROUGH if k in body}
        request_id = f"chatcmpl-{uuid.uuid4().hex}"
        user, team = _who(body)
        decision, answer_tokens, reason, routing_seconds = await decider.decide(prompt, lam, ask.top_k)
        metrics.routing_seconds.observe(routing_seconds)
        record = base_record(request_id, prompt, lam, lam_source, options.policy, ask.top_k, user, team,
                             options.log_prompts, arrived)
        record["_decision"] = decision
        with_decision(record, decision, None, routing_seconds)
        if decision is not None:
            chosen, aggregator = list(decision.candidates), decision.aggregator
        else:
            chosen, aggregator = [upstream.fallback_order[0]], None
        headers = {"x-crossroute-lambda": f"{lam:g}", "x-crossroute-request-id": request_id,
                   "x-crossroute-predicted-cost-usd": f"{decision.predicted_cost_usd:.8g}" if decision else "unknown"}
        if body.get("stream"):
            return await _stream(request_id, body, chosen, aggregator, params, answer_tokens, reason, record, headers)
        started = time.perf_counter()
        try:
            if len(chosen) > 1:
                outcome = await upstream.soft(chosen, aggregator, body["messages"], params, answer_tokens)
            else:
                outcome = await upstream.hard(chosen[0], body["messages"], params, answer_tokens, reason=reason)
        except AllModelsFailed as e:
            return _failed(record, str(e), started)
        if reason and not outcome.fallback_reason:
            outcome.fallback_reason = reason
        _finish(record, outcome, started)
        headers["x-crossroute-model"] = outcome.model
        return JSONResponse(_completion(request_id, outcome, record), headers=headers)

    def _finish(record: dict, outcome: Outcome, started: float) -> None:
        live.record(record.pop("_decision", None), outcome.cost_usd, [c.model for c in outcome.calls if c.error is None])
        record.update(called=[c.model for c in outcome.calls], model=outcome.model, input_tokens=outcome.input_tokens,
                      output_tokens=outcome.output_tokens, cost_usd=outcome.cost_usd,
                      upstream_ms=(time.perf_counter() - started) * 1000, status="ok",
                      fallback_reason=outcome.fallback_reason)
        metrics.observe_calls(outcome.calls)
        metrics.requests.labels(outcome.model, "ok").inc()
        if outcome.fallback_reason:
            metrics.fallbacks.labels(_reason_kind(outcome.fallback_reason)).inc()
        if log is not None:
            log.append(record)

    def _failed(record: dict, detail: str, started: float) -> JSONResponse:
        record.pop("_decision", None)
        record.update(status="error", error=detail[:1000], upstream_ms=(time.perf_counter() - started) * 1000)
        metrics.requests.labels("none", "error").inc()
        if log is not None:
            log.append(record)
        return _error(502, f"every model failed: {detail}", "all_models_failed")

    async def _stream(request_id, body, chosen, aggregator, params, answer_tokens, reason, record, headers):
        started = time.perf_counter()
        messages = body["messages"]
        if len(chosen) > 1:  # soft routing: the merged answer is known only at the end; it goes out as one chunk
            try:
                outcome = await upstream.soft(chosen, aggregator, messages, params, answer_tokens)
            except AllModelsFailed as e:
                return _failed(record, str(e), started)
            _finish(record, outcome, started)
            headers["x-crossroute-model"] = outcome.model
            chunks = [_chunk(request_id, outcome.model, {"role": "assistant", "content": outcome.text}, None),
                      _chunk(request_id, outcome.model, {}, "stop")]
            return StreamingResponse(_sse(chunks), media_type="text/event-stream", headers=headers)
        model, prefix, rest, calls = await upstream.stream_with_fallback(chosen[0], messages, params, answer_tokens)
        if model is None:
            return _failed(record, "; ".join(f"{c.model}: {c.error}" for c in calls), started)
        if model != chosen[0]:
            reason = reason or f"{chosen[0]} failed ({calls[0].error})"
        headers["x-crossroute-model"] = model

        async def events():
            text, usage, error = [], None, None

            async def chunks():
                for chunk in prefix:
                    yield chunk
                async for chunk in rest:
                    yield chunk

            try:
                async for chunk in chunks():
                    data = chunk.model_dump(exclude_none=True)
                    data.update(id=request_id, model=model)
                    for choice in data.get("choices", []):
                        text.append((choice.get("delta") or {}).get("content") or "")
                    usage = data.get("usage") or usage
                    yield f"data: {json.dumps(data)}\n\n"
            except Exception as e:  # noqa: BLE001 - mid-stream: the client has part of an answer; say so and record it
                error = _error_text(e)
                yield f"data: {json.dumps({'error': {'message': f'upstream {model} failed mid-stream: {error}', 'type': 'upstream_error', 'code': 'stream_interrupted', 'param': None}})}\n\n"
            yield "data: [DONE]\n\n"
            answer = "".join(text)
            input_tokens = int((usage or {}).get("prompt_tokens") or estimate_tokens(" ".join(str(m.get("content", "")) for m in messages)))
            output_tokens = int((usage or {}).get("completion_tokens") or estimate_tokens(answer))
            call = Call(model, answer, input_tokens, output_tokens,
                        upstream._price(model, input_tokens, output_tokens, None), time.perf_counter() - started, error)
            outcome = Outcome(model, answer, calls + [call], reason)
            if error is None:
                _finish(record, outcome, started)
            else:
                record.update(called=[c.model for c in outcome.calls], model=model, input_tokens=input_tokens,
                              output_tokens=output_tokens, cost_usd=outcome.cost_usd, fallback_reason=reason)
                _failed(record, f"{model} failed mid-stream: {error}", started)

        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    return app


def _reason_kind(reason: str) -> str:
    """A bounded label for the metrics: the kind of fallback, not its free text."""
    for kind in ("routing took over", "routing failed", "aggregator", "failed"):
        if kind in reason:
            return {"routing took over": "routing_timeout", "routing failed": "routing_error",
                    "aggregator": "aggregator_error", "failed": "upstream_error"}[kind]
    return "other"


def _chunk(request_id: str, model: str, delta: dict, finish: str | None) -> dict:
    return {"id": request_id, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


async def _sse(chunks):
    for chunk in chunks:
        yield f"data: {json.dumps(chunk)}\n\n"
    yield "data: [DONE]\n\n"


def _completion(request_id: str, outcome: Outcome, record: dict) -> dict:
    answering = next((c for c in reversed(outcome.calls) if c.model == outcome.model and c.error is None), None)
    usage = {"prompt_tokens": answering.input_tokens if answering else 0,
             "completion_tokens": answering.output_tokens if answering else 0}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    finish = "stop"
    if answering is not None and answering.response is not None:
        try:
            finish = answering.response.choices[0].finish_reason or "stop"
        except (AttributeError, IndexError):
            pass
    return {"id": request_id, "object": "chat.completion", "created": int(record["ts"]), "model": outcome.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": outcome.text}, "finish_reason": finish}],
            "usage": usage,
            "crossroute": {"lambda": record["lam"], "lambda_source": record["lam_source"], "top_k": record["top_k"],
                           "models_called": record["called"], "cost_usd": record["cost_usd"],
                           "predicted_cost_usd": record.get("predicted_cost_usd"),
                           "fallback_reason": record["fallback_reason"]}}
