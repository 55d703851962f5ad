"""The request and response bodies the server reads and writes, as types: a request is checked here once, and a client
mistake becomes one RequestError naming the field."""
from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from router_core.serve.names import RequestError

MAX_JSON_DEPTH = 64  # nesting a chat request never needs; deeper bodies are refused before they are walked


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: Any = None


class ChatRequest(BaseModel):
    """POST /v1/chat/completions. Fields beyond these are the client's parameters for the model (temperature,
    tools, …); the server passes on those it knows (see app.PASSED_THROUGH)."""

    model_config = ConfigDict(extra="allow")

    model: Any = None  # checked by names.parse_ask, which says what the router's model names are
    messages: list[Message] = Field(min_length=1)
    stream: StrictBool = False
    user: Any = None
    metadata: Any = None
    crossroute: Any = None  # {"lambda": 0.3, "top_k": 2}: checked by names.parse_ask

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
    models_called: list[str]
    cost_usd: float | None = None
    predicted_cost_usd: float | None = None
    fallback_reason: str | None = None

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


def parse_chat(raw: bytes) -> tuple[ChatRequest, dict]:
    """The request as a type and as the JSON object it came as (whose messages go upstream as sent).

    Raises:
        RequestError (400) naming the field at fault.
    """
    if _depth(raw) > MAX_JSON_DEPTH:
        raise RequestError(f"request body is nested more than {MAX_JSON_DEPTH} levels deep", code="invalid_json")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise RequestError(f"request body is not valid JSON ({str(e)[:200]})", code="invalid_json") from e
    if not isinstance(body, dict):
        raise RequestError("request body must be a JSON object", code="invalid_json")
    try:
        return ChatRequest.model_validate(body), body
    except ValidationError as e:
        error = e.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else None
        if field == "messages":
            raise RequestError("messages must be a non-empty list of {role, content} objects", param="messages") from e
        if field == "stream":
            raise RequestError("stream must be true or false", param="stream") from e
        where = ".".join(str(part) for part in error["loc"])
        raise RequestError(f"{where}: {error['msg']}"[:300], param=field) from e
