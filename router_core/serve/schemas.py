"""The request and response bodies the server reads and writes, as types: a request is checked here once, and a client
mistake becomes one RequestError naming the field."""
from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from router_core.serve.names import RequestError

MAX_JSON_DEPTH = 64  # nesting a chat request never needs; deeper bodies are refused before they are walked
PARAM_RULES = {  # what a checked parameter must be, as the error says it
    "temperature": "a number from 0 to 2", "top_p": "a number from 0 to 1", "n": "a whole number from 1 to 128",
    "max_tokens": "a whole number of at least 1", "max_completion_tokens": "a whole number of at least 1",
    "presence_penalty": "a number from -2 to 2", "frequency_penalty": "a number from -2 to 2",
    "logprobs": "true or false", "top_logprobs": "a whole number from 0 to 20", "seed": "a whole number",
    "stop": "a text or a list of at most 4 texts", "tools": "a list of {type, function: {name, ...}} objects",
    "functions": "a list of {name, ...} objects", "tool_choice": "'none', 'auto', 'required' or an object with a type",
    "parallel_tool_calls": "true or false", "response_format": "an object such as {\"type\": \"json_object\"}",
    "stream_options": "an object such as {\"include_usage\": true}",
}


Number = StrictInt | float  # a JSON number; text such as "hot" is refused, not coerced
ROLES = ("system", "developer", "user", "assistant", "tool", "function")


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: StrictStr
    content: Any = None

    def model_post_init(self, _context) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, got {self.role[:40]!r}")


class Function(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: StrictStr = Field(min_length=1, max_length=256)


class Tool(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: StrictStr = "function"
    function: Function | None = None


class ToolChoice(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: StrictStr = Field(min_length=1)


class ChatRequest(BaseModel):
    """POST /v1/chat/completions. Every field but model, messages, stream and crossroute goes to LiteLLM as the client
    gave it; the common model parameters are checked here first, so a typo is a 400 and not a failed call per model."""

    model_config = ConfigDict(extra="allow")

    model: Any = None  # checked by names.parse_ask, which says what the router's model names are
    messages: list[Message] = Field(min_length=1)
    stream: StrictBool = False
    user: Any = None
    metadata: Any = None
    crossroute: Any = None  # {"lambda": 0.3, "top_k": 2, "models": [...], ...}: checked by names.parse_ask
    # The model's parameters the server checks before any call (the rest go to LiteLLM as given):
    temperature: Annotated[Number, Field(ge=0, le=2)] | None = None
    top_p: Annotated[Number, Field(ge=0, le=1)] | None = None
    n: Annotated[StrictInt, Field(ge=1, le=128)] | None = None
    max_tokens: Annotated[StrictInt, Field(ge=1)] | None = None
    max_completion_tokens: Annotated[StrictInt, Field(ge=1)] | None = None
    presence_penalty: Annotated[Number, Field(ge=-2, le=2)] | None = None
    frequency_penalty: Annotated[Number, Field(ge=-2, le=2)] | None = None
    logprobs: StrictBool | None = None
    top_logprobs: Annotated[StrictInt, Field(ge=0, le=20)] | None = None
    seed: StrictInt | None = None
    stop: StrictStr | Annotated[list[StrictStr], Field(max_length=4)] | None = None
    tools: list[Tool] | None = None
    functions: list[Function] | None = None
    tool_choice: Literal["none", "auto", "required"] | ToolChoice | None = None
    parallel_tool_calls: StrictBool | None = None
    response_format: dict | None = None
    stream_options: dict | None = None

    @property
    def wants_usage_chunk(self) -> bool:
        return bool((self.stream_options or {}).get("include_usage"))

    @property
    def offers_tools(self) -> bool:
        return bool(self.tools or self.functions)

    def who(self) -> tuple[str | None, str | None]:
        """(user, team) for the decision log: `user`, else metadata.user; metadata.team."""
        metadata = self.metadata if isinstance(self.metadata, dict) else {}
        user = self.user if isinstance(self.user, str) else metadata.get("user")
        team = metadata.get("team")
        return (str(user) if user is not None else None), (str(team) if team is not None else None)


class CrossRouteInfo(BaseModel):
    """What CrossRoute adds to an answer (the `crossroute` object): how it routed this request."""

    model_config = ConfigDict(protected_namespaces=())

    lambda_: float = Field(serialization_alias="lambda")
    lambda_source: str
    top_k: int
    models_called: list[str]  # every call, in order (a fallback's failed calls too)
    merged_by: str | None = None  # soft routing: the aggregator that merged the answers
    merged: list[str] = []  # soft routing: the models whose answers it merged
    cost_usd: float | None = None  # measured, every call
    predicted_cost_usd: float | None = None
    fallback_reason: str | None = None
    conversation: str | None = None

    def to_json(self) -> dict:
        return self.model_dump(by_alias=True)


def _depth(raw: bytes) -> int:
    """The deepest nesting of brackets in a JSON text (strings skipped), without parsing it."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def refuse_surrogates(value, field: str) -> None:
    """A lone UTF-16 surrogate (JSON "\\ud800" without its pair) is not text a model can read: 400 naming the field."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as e:
        raise RequestError(f"{field}: holds a lone UTF-16 surrogate ({e.object[e.start:e.end]!a}), which is not valid text",
                           param=field) from e


class _NonFinite(ValueError):
    pass


def _refuse_constant(name: str):
    raise _NonFinite(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NonFinite(f"{text[:40]} is out of range")
    return value


def json_object(raw: bytes) -> dict:
    """A request body as a JSON object. Raises RequestError (400) for anything else."""
    if _depth(raw) > MAX_JSON_DEPTH:
        raise RequestError(f"request body is nested more than {MAX_JSON_DEPTH} levels deep", code="invalid_json")
    try:
        body = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise RequestError(f"request body is not valid JSON ({str(e)[:200]})", code="invalid_json") from e
    except _NonFinite as e:
        # Upstreams refuse NaN and ±Infinity, so a body holding one could only fail later, on every model.
        raise RequestError(f"request body holds a number JSON cannot carry ({e})", code="invalid_json") from e
    if not isinstance(body, dict):
        raise RequestError("request body must be a JSON object", code="invalid_json")
    for key, value in body.items():
        refuse_surrogates(key, "a field name")
        if key not in ("user", "metadata"):  # who asked is logged escaped; anything else would reach a model broken
            refuse_surrogates(value, key)
    return body


def parse_chat(raw: bytes) -> tuple[ChatRequest, dict]:
    """The request as a type and as the JSON object it came as (whose messages go upstream as sent).

    Raises:
        RequestError (400) naming the field at fault.
    """
    body = json_object(raw)
    try:
        return ChatRequest.model_validate(body), body
    except ValidationError as e:
        error = e.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else None
        if field == "messages":
            raise RequestError("messages must be a non-empty list of {role, content} objects", param="messages") from e
        if field == "stream":
            raise RequestError("stream must be true or false", param="stream") from e
        given = body.get(field)
        shown = f", got {json.dumps(given)[:60]}" if isinstance(given, (str, int, float, bool)) or given is None else ""
        if field in PARAM_RULES:
            raise RequestError(f"{field} must be {PARAM_RULES[field]}{shown}", param=field) from e
        raise RequestError(f"{field}: {error['msg']}"[:300], param=field) from e
