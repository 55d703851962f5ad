"""The Responses API (`POST /v1/responses`, what the OpenAI Agents SDK calls by default): read as a conversation for
routing and pricing, called through LiteLLM's `aresponses` with this request's fallback order, and relayed whole (the
upstream's response id too, so `previous_response_id` goes back to the model that holds that response)."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from router_core.serve.names import RequestError
from router_core.serve.upstream import AllModelsFailed, Call

RESERVED = ("model", "input", "stream", "crossroute")  # every other field goes to LiteLLM as given


class ResponsesRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: Any = None
    input: str | list = Field(min_length=1)
    instructions: str | None = None
    stream: StrictBool = False
    tools: list[dict] | None = None
    previous_response_id: str | None = None
    user: Any = None
    metadata: Any = None
    crossroute: Any = None


def parse_responses(body: dict) -> ResponsesRequest:
    try:
        return ResponsesRequest.model_validate(body)
    except ValidationError as e:
        error = e.errors()[0]
        field_name = str(error["loc"][0]) if error["loc"] else None
        if field_name == "input":
            raise RequestError("input must be a text or a non-empty list of input items", param="input") from e
        raise RequestError(f"{field_name}: {error['msg']}"[:300], param=field_name) from e


def _text(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def as_chat(request: ResponsesRequest) -> tuple[list[dict], list[dict]]:
    """The request as chat messages and chat-style tools: what routing reads and the prompt tokens are counted on."""
    messages = [{"role": "system", "content": request.instructions}] if request.instructions else []
    items = [{"role": "user", "content": request.input}] if isinstance(request.input, str) else request.input
    for item in items:
        if not isinstance(item, dict):
            continue
        kind = item.get("type", "message")
        if kind == "message" or "role" in item:
            role = item.get("role", "user")
            messages.append({"role": "system" if role == "developer" else role, "content": _text(item.get("content"))})
        elif kind == "function_call_output":
            messages.append({"role": "tool", "tool_call_id": str(item.get("call_id", "")), "content": str(item.get("output", ""))})
        elif kind == "function_call":
            messages.append({"role": "assistant", "content": f"(called {item.get('name', 'a tool')})"})
    tools = [{"type": "function", "function": {"name": t.get("name") or (t.get("function") or {}).get("name", ""),
                                               "parameters": t.get("parameters") or (t.get("function") or {}).get("parameters") or {}}}
             for t in (request.tools or []) if isinstance(t, dict) and (t.get("name") or t.get("function"))]
    return messages, tools


def dumped(item) -> dict:
    return json.loads(json.dumps(item.model_dump() if hasattr(item, "model_dump") else item, default=str))


@dataclass
class Answer:
    """A Responses API call that answered: the model, its response (or stream events), usage and the failed calls."""

    model: str
    response: dict | None = None
    failed: list[Call] = field(default_factory=list)
    seconds: float = 0.0


async def respond(router, order: list[str], params: dict) -> Answer:
    """Call each model of `order` until one answers (a response with an output); AllModelsFailed when none does."""
    failed = []
    for model in order:
        started = time.perf_counter()
        try:
            response = dumped(await router.aresponses(model=model, **params))
            if not isinstance(response.get("output"), list):
                raise ValueError("the upstream's response holds no output")
            return Answer(model, response, failed, time.perf_counter() - started)
        except Exception as e:  # noqa: BLE001 - any upstream failure is a fallback, never a lost request
            failed.append(Call.failure(model, e, started))
    raise AllModelsFailed(failed)


async def open_stream(router, order: list[str], params: dict):
    """A streamed call from the first model of `order` that starts answering: (model, events so far, the rest, failed).
    Events are held until the first output item, so a failing model is replaced before the client sees anything."""
    failed = []
    for model in order:
        started = time.perf_counter()
        try:
            stream = await router.aresponses(model=model, stream=True, **params)
            iterator = stream.__aiter__()
            held = []
            async for event in iterator:
                data = dumped(event)
                held.append(data)
                if data.get("type") == "error" or data.get("type") == "response.failed":
                    raise RuntimeError(str(data.get("message") or data.get("response", {}).get("error"))[:300])
                if data.get("type") not in ("response.created", "response.in_progress"):
                    return model, held, iterator, failed
            raise ValueError("the upstream's stream ended with no output")
        except Exception as e:  # noqa: BLE001 - nothing has reached the client yet: try the next model
            failed.append(Call.failure(model, e, started))
    return None, [], None, failed


def usage_of(response: dict | None) -> tuple[int, int]:
    usage = (response or {}).get("usage") or {}
    return int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)
