"""The OpenAI-compatible router server: POST /v1/chat/completions (plain and streamed), GET /v1/models, /health,
/metrics, and the admin API for the λ policy. The model name picks the behaviour (see names.py); every request gets an
answer unless every model fails, and one decision record.

Handlers are module-level functions over `app.state`: `service` (the RoutingService: router, λ policy, decider,
decision log), `upstream` (LiteLLM calls with fallbacks) and `metrics`."""
from __future__ import annotations

import asyncio
import dataclasses
import hmac
import json
import time
import uuid
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException

from router_core.data.messages import conversation as read_conversation
from router_core.decisionlog.schema import Status
from router_core.errors import RouterInputError
from router_core.feedback import store as feedback_store
from router_core.model.text import estimate_tokens
from router_core.serve import relay, responses
from router_core.serve.metrics import Metrics
from router_core.serve.names import MAX_CONVERSATION_ID, ROUTER_MODEL, RequestError, parse_ask
from router_core.serve.schemas import json_object, parse_chat
from router_core.serve.service import Routed, RoutingService, ServerOptions  # noqa: F401 (ServerOptions re-exported)
from router_core.serve.tokens import prompt_tokens
from router_core.serve.upstream import AllModelsFailed, Call, Outcome, Upstream, _error_text, cached_tokens_of

RESERVED = ("model", "messages", "stream", "crossroute")  # every other field of a request goes to LiteLLM as given
CONVERSATION_HEADER = "x-crossroute-conversation"
MAX_ADMIN_BODY = 64 * 1024
MAX_ERROR_CHARS = 2000  # an error message a client gets back: enough to act on, never the whole input

routes = APIRouter()


def _error(status: int, message: str, code: str, param: str | None = None, kind: str | None = None,
           headers: dict | None = None) -> JSONResponse:
    kind = kind or ("invalid_request_error" if status < 500 else "upstream_error")
    message = message if len(message) <= MAX_ERROR_CHARS else message[:MAX_ERROR_CHARS] + "…"
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": code}}, status_code=status,
                        headers=headers)


async def _body(request: Request, limit: int) -> bytes:
    """The request body, within the size limit and the time a client has to send it."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(f"request body of {int(declared)} bytes is over this server's limit of {limit}", 413,
                           "request_too_large")
    seconds = request.app.state.service.options.client_seconds
    chunks, size = [], 0
    stream = request.stream().__aiter__()
    deadline = time.monotonic() + seconds
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), timeout=max(0.0, deadline - time.monotonic()))
        except StopAsyncIteration:
            break
        except asyncio.TimeoutError:
            raise RequestError(f"the request body did not arrive within {seconds:g} s", 408, "request_timeout") from None
        size += len(chunk)
        if size > limit:
            raise RequestError(f"request body is over this server's limit of {limit} bytes", 413, "request_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def _admin(request: Request) -> None:
    token = request.app.state.service.options.admin_token
    if token is None:
        raise RequestError("the admin endpoint is off; start the server with --admin-token-env VAR to turn it on",
                           404, "not_found")
    _bearer(request, token)


def _bearer(request: Request, token: str) -> None:
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode("utf-8", "replace"), token.encode("utf-8")):
        raise RequestError("missing or wrong bearer token", 401, "invalid_api_key")


def _policy_state(service: RoutingService) -> dict:
    live = service.live
    lam, source = live.lam()
    return {"policy": live.policy.describe(), "lambda": lam, "source": source, "errors": live.errors}


@routes.get("/admin/lambda-policy")
async def get_policy(request: Request):
    _admin(request)
    return _policy_state(request.app.state.service)


@routes.put("/admin/lambda-policy")
async def put_policy(request: Request):
    _admin(request)
    service = request.app.state.service
    error = service.live.reload(await _body(request, MAX_ADMIN_BODY), "PUT /admin/lambda-policy")
    if error is not None:
        raise RequestError(error, 400, "invalid_lambda_policy")
    return _policy_state(service)


def _router_state(service: RoutingService) -> dict:
    shadow = service.shadow
    return {"router": service.router.id, "models": list(service.router.candidates),
            "shadow": None if shadow is None else {"router": shadow.router.id, "source": shadow.source,
                                                   "skipped": shadow.skipped}}


@routes.get("/admin/router")
async def get_router(request: Request):
    _admin(request)
    return _router_state(request.app.state.service)


@routes.put("/admin/router")
async def put_router(request: Request):
    """Promote a router without a restart: {"path": "/srv/routers/r2"} (a folder on this server), or {"shadow": true}
    for the router in shadow. It must route over the same models; it is loaded and warmed before it takes over."""
    _admin(request)
    service: RoutingService = request.app.state.service
    body = json_object(await _body(request, MAX_ADMIN_BODY))
    if set(body) - {"path", "shadow"} or (("path" in body) == bool(body.get("shadow"))):
        raise RequestError("give {\"path\": \"/folder/of/a/router\"} or {\"shadow\": true}", param="path")
    loop = asyncio.get_running_loop()
    if body.get("shadow"):
        if service.shadow is None:
            raise RequestError("no router is in shadow; start the server with --shadow ROUTER", 404, "not_found")
        router = service.shadow.router
    else:
        if not isinstance(body["path"], str) or not body["path"].strip():
            raise RequestError("path must be the folder of a router artifact on this server", param="path")
        from router_core.router import Router

        try:
            router = await loop.run_in_executor(None, Router.load, body["path"])
        except RouterInputError as e:
            raise RequestError(f"cannot load that router: {e}", param="path") from e
    try:
        await loop.run_in_executor(None, router.scores, ["a first query, scored before the router takes over"])
        previous = service.promote(router)
    except RouterInputError as e:
        raise RequestError(str(e), param="path") from e
    return {**_router_state(service), "previous": previous}


@routes.post("/v1/feedback")
async def feedback_api(request: Request):
    """A score for an answered request (its x-crossroute-request-id): {request_id, score 0..1 | thumbs up/down,
    source?, comment?}. One per (request_id, source): sent again, it replaces the earlier one."""
    service: RoutingService = request.app.state.service
    token = service.options.feedback_token
    if token is None:
        raise RequestError("feedback is off; start the server with --feedback-token-env VAR to turn it on", 404,
                           "not_found")
    _bearer(request, token)
    if service.log is None:
        raise RequestError("this server keeps no decision log, so feedback has nothing to attach to", 404, "not_found")
    body = json_object(await _body(request, MAX_ADMIN_BODY))
    unknown = sorted(set(body) - {"request_id", "score", "thumbs", "source", "comment"})
    if unknown:
        raise RequestError(f"unknown field(s) {', '.join(unknown)[:200]}; feedback takes request_id, score or thumbs, "
                           "source and comment", param=unknown[0][:64])
    try:
        given = feedback_store.checked(body.get("request_id"), body.get("score"), body.get("thumbs"),
                                       body.get("source", "user"), body.get("comment"))
        replaced = await asyncio.get_running_loop().run_in_executor(None, feedback_store.record, service.log.path, given)
    except feedback_store.UnknownRequest as e:
        raise RequestError(str(e), 404, "unknown_request_id", "request_id") from e
    except feedback_store.BadFeedback as e:
        raise RequestError(str(e), param=e.param) from e
    request.app.state.metrics.feedback.labels(given.source if given.source in ("user", "judge") else "other").inc()
    return {"object": "feedback", "request_id": given.request_id, "source": given.source, "score": given.score,
            "replaced": replaced}


@routes.get("/health")
async def health(request: Request):
    service = request.app.state.service
    lam, source = service.live.lam()
    return {"status": "ok", "router": service.router.id, "models": list(service.router.candidates), "lambda": lam,
            "lambda_source": source}


@routes.get("/v1/models")
async def models():
    return {"object": "list", "data": [{"id": ROUTER_MODEL, "object": "model", "created": 0, "owned_by": "crossroute"}]}


@routes.get("/metrics")
async def prometheus(request: Request):
    payload, content_type = request.app.state.metrics.render()
    return Response(payload, media_type=content_type)


@routes.post("/v1/chat/completions")
async def chat(request: Request):
    arrived = time.time()
    state = request.app.state
    service: RoutingService = state.service
    chat_request, body = parse_chat(await _body(request, service.options.max_body_bytes))
    candidates = list(service.router.candidates)
    ask = parse_ask(chat_request.model, chat_request.crossroute, len(candidates), candidates)
    ask = _with_conversation_header(ask, request.headers.get(CONVERSATION_HEADER))
    if ask.top_k > 1:
        _check_soft(chat_request)
    try:
        conversation = read_conversation(body["messages"], body.get("tools"), body.get("functions"))
    except RouterInputError as e:
        raise RequestError(f"messages: {e}", param="messages") from e
    loop = asyncio.get_running_loop()
    tokens = await loop.run_in_executor(None, prompt_tokens, body["messages"], body.get("tools"))
    user, team = chat_request.who()
    routed = await service.route(conversation, ask, f"chatcmpl-{uuid.uuid4().hex}", user, team, arrived, tokens,
                                 chat_request.offers_tools)
    _observe_routing(state.metrics, routed)
    params = {k: v for k, v in body.items() if k not in RESERVED}
    predicted = routed.predicted_cost_usd
    headers = {"x-crossroute-lambda": f"{routed.lam:g}", "x-crossroute-request-id": routed.record.request_id,
               "x-crossroute-predicted-cost-usd": f"{predicted:.8g}" if predicted is not None else "unknown"}
    if chat_request.stream:
        return await _stream(request, routed, body["messages"], params, headers, chat_request.wants_usage_chunk)
    upstream: Upstream = state.upstream
    started = time.perf_counter()
    try:
        if len(routed.chosen) > 1:
            outcome = await upstream.soft(routed.chosen, routed.aggregator, body["messages"], params, routed.answer_tokens,
                                          order=routed.order)
        else:
            outcome = await upstream.hard(routed.chosen[0], body["messages"], params, routed.answer_tokens,
                                          reason=routed.reason, order=routed.order)
    except AllModelsFailed as e:
        return await _failed(request, routed, e, started)
    if routed.reason and not outcome.fallback_reason:
        outcome.fallback_reason = routed.reason
    await _finish(request, routed, outcome, started)
    headers.update(_answer_headers(outcome))
    return JSONResponse(relay.completion(routed.record, outcome), headers=headers)


@routes.post("/v1/responses")
async def responses_api(request: Request):
    arrived = time.time()
    state = request.app.state
    service: RoutingService = state.service
    body = json_object(await _body(request, service.options.max_body_bytes))
    asked = responses.parse_responses(body)
    candidates = list(service.router.candidates)
    ask = _with_conversation_header(parse_ask(asked.model, asked.crossroute, len(candidates), candidates),
                                    request.headers.get(CONVERSATION_HEADER))
    if ask.top_k > 1:
        raise RequestError("soft routing is offered on /v1/chat/completions only; ask for 'crossroute' or "
                           "'crossroute-LAMBDA' here", param="model")
    holder = service.conversations.get(f"response:{asked.previous_response_id}") if asked.previous_response_id else None
    if holder is not None:  # the model that holds the previous response answers the next one
        ask = dataclasses.replace(ask, models=(holder[0],), exclude=())
    messages, tools = responses.as_chat(asked)
    try:
        conversation = read_conversation(messages, tools)
    except RouterInputError as e:
        if not asked.previous_response_id or not messages:
            raise RequestError(f"input: {e}", param="input") from e
        # A turn that only answers the previous response's tool calls: routed on what it hands back.
        conversation = read_conversation([*messages[:-1], {"role": "user", "content": messages[-1]["content"] or "…"}], tools)
    tokens = await asyncio.get_running_loop().run_in_executor(None, prompt_tokens, messages, tools)
    user, team = (str(asked.user) if isinstance(asked.user, str) else None), None
    if isinstance(asked.metadata, dict) and asked.metadata.get("team") is not None:
        team = str(asked.metadata["team"])
    routed = await service.route(conversation, ask, f"resp-{uuid.uuid4().hex}", user, team, arrived, tokens, bool(tools))
    _observe_routing(state.metrics, routed)
    params = {k: v for k, v in body.items() if k not in responses.RESERVED}
    params["input"] = body["input"]
    predicted = routed.predicted_cost_usd
    headers = {"x-crossroute-lambda": f"{routed.lam:g}", "x-crossroute-request-id": routed.record.request_id,
               "x-crossroute-predicted-cost-usd": f"{predicted:.8g}" if predicted is not None else "unknown"}
    upstream: Upstream = state.upstream
    started = time.perf_counter()
    if asked.stream:
        return await _stream_response(request, routed, params, headers, started)
    try:
        answer = await responses.respond(upstream.router, routed.order, params)
    except AllModelsFailed as e:
        return await _failed(request, routed, e, started)
    await _finish_response(request, routed, answer.model, answer.response, answer.failed, started)
    headers["x-crossroute-model"] = answer.model
    return JSONResponse({**answer.response, "crossroute": relay.info(routed.record)}, headers=headers)


async def _finish_response(request: Request, routed: Routed, model: str, response: dict | None, failed: list,
                           started: float, error: str | None = None) -> None:
    """A Responses API call's outcome into the record, the budget, the metrics and the log."""
    upstream: Upstream = request.app.state.upstream
    input_tokens, output_tokens = responses.usage_of(response)
    calls = failed + [Call(model, "", input_tokens, output_tokens, upstream._price(model, input_tokens, output_tokens, None))]
    reason = routed.reason or (f"{failed[0].model} failed ({failed[0].error})" if failed else None)
    outcome = Outcome(model, "", calls, reason)
    if response and response.get("id"):
        request.app.state.service.conversations.put(f"response:{response['id']}", model, routed.lam)
    if error is None:
        await _finish(request, routed, outcome, started)
        return
    record = routed.record
    record.called, record.model = [c.model for c in calls], model
    record.input_tokens, record.output_tokens, record.cost_usd = input_tokens, output_tokens, outcome.cost_usd
    record.fallback_reason = reason
    await _failed(request, routed, f"{model} failed mid-stream: {error}", started)


async def _stream_response(request: Request, routed: Routed, params: dict, headers: dict, started: float):
    upstream: Upstream = request.app.state.upstream
    model, held, rest, failed = await responses.open_stream(upstream.router, routed.order, params)
    if model is None:
        return await _failed(request, routed, AllModelsFailed(failed), started)
    headers["x-crossroute-model"] = model

    async def events():
        final, error = None, None

        async def every():
            for event in held:
                yield event
            async for event in rest:
                yield responses.dumped(event)

        logged = False
        try:
            try:
                async for event in every():
                    if event.get("type") in ("response.completed", "response.incomplete"):
                        final = event.get("response")
                        record = routed.record
                        record.called, record.model = [c.model for c in failed] + [model], model
                        record.cost_usd = upstream._price(model, *responses.usage_of(final), None)
                        event = {**event, "response": {**(final or {}), "crossroute": relay.info(record)}}
                        logged = True  # the closing event goes out once its record is committed
                        await _finish_response(request, routed, model, final, failed, started)
                    yield f"event: {event.get('type', 'message')}\ndata: {json.dumps(event)}\n\n"
            except Exception as e:  # noqa: BLE001 - mid-stream: the client has part of an answer; say so and record it
                error = _error_text(e)
                failure = {"type": "error", "code": "stream_interrupted", "message": f"upstream {model} failed mid-stream: {error}"}
                if not logged:
                    logged = True
                    await _finish_response(request, routed, model, final, failed, started, error)
                yield f"event: error\ndata: {json.dumps(failure)}\n\n"
            if not logged:  # the stream ended with no closing event
                logged = True
                await _finish_response(request, routed, model, final, failed, started)
        finally:
            if not logged:  # the client went away: the upstream was called, so the request is recorded all the same
                record = routed.record
                record.called, record.model = [c.model for c in failed] + [model], model
                _left(request, routed, started)

    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


def _observe_routing(metrics, routed: Routed) -> None:
    metrics.routing_seconds.observe(routed.record.routing_ms / 1000)
    if routed.degraded is not None:
        metrics.degraded.labels(routed.degraded.split(":")[0]).inc()


def _with_conversation_header(ask, header: str | None):
    if header is None or ask.conversation is not None:
        return ask
    if not header.strip() or len(header) > MAX_CONVERSATION_ID:
        raise RequestError(f"{CONVERSATION_HEADER} must be a non-empty id of at most {MAX_CONVERSATION_ID} characters",
                           param=CONVERSATION_HEADER)
    return dataclasses.replace(ask, conversation=header.strip())


def _check_soft(chat_request) -> None:
    """Soft routing merges text answers: a request it cannot relay whole is refused, never answered differently."""
    if chat_request.offers_tools:
        raise RequestError("soft routing merges the text of several answers and cannot merge tool calls; ask for "
                           "'crossroute' or 'crossroute-LAMBDA' (one model) when the request offers tools", param="model")
    if (chat_request.n or 1) > 1:
        raise RequestError("soft routing merges one answer per model; n > 1 needs one model: ask for 'crossroute' "
                           "or 'crossroute-LAMBDA'", param="n")
    if chat_request.logprobs:
        raise RequestError("soft routing's merged answer has no log-probabilities; ask for one model to get them",
                           param="logprobs")


def _answer_headers(outcome: Outcome) -> dict:
    headers = {"x-crossroute-model": relay.answered_as(outcome),
               "x-crossroute-models-called": ",".join(c.model for c in outcome.calls)}
    if outcome.merged:
        headers["x-crossroute-merged-by"] = outcome.model
    return headers


async def _finish(request: Request, routed: Routed, outcome: Outcome, started: float) -> None:
    """An answered request: charge the budget, fill in the record's outcome, count it and log it. Returns once the
    record is committed, so the client never holds an answer the log does not."""
    service, metrics = request.app.state.service, request.app.state.metrics
    service.charge(routed, outcome.cost_usd, [c.model for c in outcome.calls if c.error is None])
    service.answered(routed, outcome.model)
    record = routed.record
    record.called, record.model = [c.model for c in outcome.calls], outcome.model
    record.input_tokens, record.output_tokens, record.cost_usd = outcome.input_tokens, outcome.output_tokens, outcome.cost_usd
    record.upstream_ms, record.status = (time.perf_counter() - started) * 1000, Status.OK.value
    record.fallback_reason = outcome.fallback_reason
    metrics.observe_calls(outcome.calls)
    metrics.requests.labels(outcome.model, "ok").inc()
    if outcome.fallback_reason:
        metrics.fallbacks.labels(_reason_kind(outcome.fallback_reason)).inc()
    await service.recorded(record)
    if service.judge is not None and service.log is not None:  # after the commit: feedback needs its decision row
        service.judge.consider(request.app.state.upstream, record.request_id, routed.text, outcome.text)


async def _failed(request: Request, routed: Routed, detail: str | AllModelsFailed, started: float) -> JSONResponse:
    """Every model failed: logged as an error with the models called, answered 502; 400 when every model refused the
    request as invalid."""
    record = routed.record
    refused = isinstance(detail, AllModelsFailed) and detail.refused
    if isinstance(detail, AllModelsFailed):
        record.called = record.called or [c.model for c in detail.calls]
        detail = str(detail)
    if routed.reason and not record.fallback_reason:
        record.fallback_reason = routed.reason
    record.status, record.error = Status.ERROR.value, detail[:1000]
    record.upstream_ms = (time.perf_counter() - started) * 1000
    request.app.state.metrics.requests.labels("none", "error").inc()
    await request.app.state.service.recorded(record)
    headers = {"x-crossroute-request-id": record.request_id}  # the decision record of a request that failed
    if refused:
        return _error(400, f"every model refused the request: {detail}", "refused_by_every_model", headers=headers)
    return _error(502, f"every model failed: {detail}", "all_models_failed", headers=headers)


def _left(request: Request, routed: Routed, started: float) -> None:
    """The client closed the connection mid-stream: recorded as cancelled, with what the upstream was paid so far."""
    record = routed.record
    record.status, record.error = Status.CANCELLED.value, "the client closed the connection mid-stream"
    record.upstream_ms = (time.perf_counter() - started) * 1000
    request.app.state.metrics.requests.labels(record.model or "none", "cancelled").inc()
    request.app.state.service.write(record)


async def _stream(request: Request, routed: Routed, messages: list, params: dict, headers: dict, wants_usage: bool):
    upstream: Upstream = request.app.state.upstream
    started = time.perf_counter()
    request_id = routed.record.request_id
    if len(routed.chosen) > 1:  # soft routing: the merged answer is known only at the end; it goes out as one chunk
        try:
            outcome = await upstream.soft(routed.chosen, routed.aggregator, messages, params, routed.answer_tokens,
                                          order=routed.order)
        except AllModelsFailed as e:
            return await _failed(request, routed, e, started)
        await _finish(request, routed, outcome, started)
        headers.update(_answer_headers(outcome))
        name = relay.answered_as(outcome)
        chunks = [_chunk(request_id, name, {"role": "assistant", "content": outcome.text}, None),
                  _chunk(request_id, name, {}, "stop")]
        if wants_usage:
            chunks.append({**_chunk(request_id, name, {}, None), "choices": [], "usage": relay.summed_usage(outcome.calls)})
        chunks[-1]["crossroute"] = relay.info(routed.record, outcome)
        return StreamingResponse(_sse(chunks), media_type="text/event-stream", headers=headers)
    first = routed.chosen[0]
    model, prefix, rest, calls = await upstream.stream_with_fallback(first, messages, params, routed.answer_tokens,
                                                                     order=routed.order)
    if model is None:
        return await _failed(request, routed, AllModelsFailed(calls), started)
    reason = routed.reason
    if model != first:
        reason = reason or f"{first} failed ({calls[0].error})"
    headers["x-crossroute-model"] = model

    async def events():
        text, usage, error, logged = [], None, None, False

        async def chunks():
            for chunk in prefix:
                yield chunk
            async for chunk in rest:
                yield chunk

        def outcome_so_far() -> Outcome:
            answer = "".join(text)
            input_tokens = int((usage or {}).get("prompt_tokens") or routed.record.prompt_tokens
                               or estimate_tokens(" ".join(str(m.get("content", "")) for m in messages)))
            output_tokens = int((usage or {}).get("completion_tokens") or estimate_tokens(answer or " "))
            call = Call(model, answer, input_tokens, output_tokens,
                        upstream._price(model, input_tokens, output_tokens, None, cached_tokens_of(usage)),
                        time.perf_counter() - started, error)
            outcome = Outcome(model, answer, calls + [call], reason)
            if error is not None:  # the record says what was called and paid, though the answer broke off
                record = routed.record
                record.called, record.model = [c.model for c in outcome.calls], model
                record.input_tokens, record.output_tokens, record.cost_usd = input_tokens, output_tokens, outcome.cost_usd
                record.fallback_reason = reason
            return outcome

        try:
            try:
                async for chunk in chunks():
                    data = chunk.model_dump(exclude_none=True)
                    usage = data.get("usage") or usage
                    for choice in data.get("choices", []):
                        text.append((choice.get("delta") or {}).get("content") or "")
                    relayed = relay.chunk(data, request_id, model, wants_usage)
                    if relayed is not None:
                        yield f"data: {json.dumps(relayed)}\n\n"
            except Exception as e:  # noqa: BLE001 - mid-stream: the client has part of an answer; say so and record it
                error = _error_text(e)
                failure = {"message": f"upstream {model} failed mid-stream: {error}", "type": "upstream_error",
                           "code": "stream_interrupted", "param": None}
                yield f"data: {json.dumps({'error': failure})}\n\n"
            outcome, logged = outcome_so_far(), True
            if error is None:
                await _finish(request, routed, outcome, started)
            else:
                await _failed(request, routed, f"{model} failed mid-stream: {error}", started)
            yield "data: [DONE]\n\n"  # once the record is committed
        finally:  # the client left mid-stream: the upstream was called, so the request is recorded all the same
            if not logged:
                outcome = outcome_so_far()
                record = routed.record
                record.called, record.model = [c.model for c in outcome.calls], model
                record.input_tokens, record.output_tokens = outcome.input_tokens, outcome.output_tokens
                record.cost_usd, record.fallback_reason = outcome.cost_usd, reason
                _left(request, routed, started)

    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


def _reason_kind(reason: str) -> str:
    """A bounded label for the metrics: the kind of fallback, not its free text."""
    for kind in ("aggregator", "failed"):
        if kind in reason:
            return {"aggregator": "aggregator_error", "failed": "upstream_error"}[kind]
    return "other"


def _chunk(request_id: str, model: str, delta: dict, finish: str | None) -> dict:
    return {"id": request_id, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


async def _sse(chunks):
    for chunk in chunks:
        yield f"data: {json.dumps(chunk)}\n\n"
    yield "data: [DONE]\n\n"


async def _request_error(request: Request, error: RequestError):
    request.app.state.metrics.rejected.labels(str(error.status)).inc()
    return _error(error.status, str(error), error.code, error.param)


async def _http_error(request: Request, error: HTTPException):
    """Starlette's own 404 and 405 as OpenAI-style error objects, as every other answer of this server."""
    code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "invalid_request_error")
    request.app.state.metrics.rejected.labels(str(error.status_code)).inc()
    message = f"{request.method} {request.url.path}: {error.detail}"
    return _error(error.status_code, message, code)


@asynccontextmanager
async def _lifespan(app: FastAPI):
    service: RoutingService = app.state.service
    await service.start()  # before serving, not on a client's request
    try:
        yield
    finally:
        service.close()


def create_app(service: RoutingService, upstream: Upstream) -> FastAPI:
    """The server over a routing service and the upstream models."""
    app = FastAPI(title="CrossRoute router", version="1", lifespan=_lifespan)
    metrics = Metrics()
    if service.log is not None:
        log = service.log
        metrics.log_failures.set_function(lambda: log.failures)
        metrics.log_errors.set_function(lambda: log.errors)
    metrics.slow_records.set_function(lambda: service.slow_records)
    metrics.shadow_skipped.set_function(lambda: service.shadow.skipped if service.shadow is not None else 0)
    metrics.judge_spend.set_function(lambda: service.judge.spent if service.judge is not None else 0.0)
    metrics.judged.set_function(lambda: service.judge.judged if service.judge is not None else 0)
    live = service.live
    metrics.policy_failures.set_function(lambda: live.failures)
    app.state.service, app.state.upstream, app.state.metrics = service, upstream, metrics
    app.include_router(routes)
    app.add_exception_handler(RequestError, _request_error)
    app.add_exception_handler(HTTPException, _http_error)
    return app
