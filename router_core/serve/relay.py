"""What the client gets back: the upstream's answer as the upstream gave it (every choice, tool calls, refusals,
reasoning, log-probabilities, the system fingerprint, usage with its cached and reasoning tokens), with CrossRoute's
additions on top: the request id, the model name the client routed to, and the `crossroute` object."""
from __future__ import annotations

import json

from router_core.serve.schemas import CrossRouteInfo
from router_core.serve.upstream import Call, Outcome

USAGE_COUNTS = ("prompt_tokens", "completion_tokens", "total_tokens")


def plain(response) -> dict:
    """A LiteLLM response as the JSON an OpenAI client reads (LiteLLM's own empty extras left out)."""
    body = json.loads(json.dumps(response.model_dump(), default=str))
    for choice in body.get("choices") or []:
        if not choice.get("provider_specific_fields"):
            choice.pop("provider_specific_fields", None)
        message = choice.get("message") or {}
        if not message.get("provider_specific_fields"):
            message.pop("provider_specific_fields", None)
    return body


def _add(total: dict, usage: dict) -> None:
    for key, value in usage.items():
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, (int, float)):
            total[key] = total.get(key, 0) + value
        elif isinstance(value, dict):
            _add(total.setdefault(key, {}), value)


def summed_usage(calls: list[Call]) -> dict:
    """Usage over every call of a request (the k answers and the aggregator of soft routing), details included."""
    total: dict = {}
    for call in calls:
        if call.error is not None:
            continue
        usage = getattr(call.response, "usage", None) if call.response is not None else None
        if usage is not None:
            _add(total, json.loads(json.dumps(usage.model_dump() if hasattr(usage, "model_dump") else dict(usage), default=str)))
        else:
            _add(total, {"prompt_tokens": call.input_tokens, "completion_tokens": call.output_tokens,
                         "total_tokens": call.input_tokens + call.output_tokens})
    for key in USAGE_COUNTS:
        total.setdefault(key, 0)
    return total


def info(record, outcome: Outcome | None = None) -> dict:
    """The `crossroute` object: how this request was routed and what it cost."""
    return CrossRouteInfo(lambda_=record.lam, lambda_source=record.lam_source, top_k=record.top_k,
                          models_called=record.called or [], merged_by=outcome.model if outcome and outcome.merged else None,
                          merged=list(outcome.merged) if outcome else [], cost_usd=record.cost_usd,
                          predicted_cost_usd=record.predicted_cost_usd, fallback_reason=record.fallback_reason,
                          conversation=record.conversation).to_json()


def answered_as(outcome: Outcome) -> str:
    """The model name the client sees: the model that answered, or for soft routing the models whose answers were
    merged ("a+b"; the aggregator is named in x-crossroute-merged-by)."""
    return "+".join(outcome.merged) if outcome.merged else outcome.model


def completion(record, outcome: Outcome) -> dict:
    """The non-streamed answer."""
    answering = outcome.answer
    if answering is not None and answering.response is not None:
        body = plain(answering.response)
    else:  # an answer with no LiteLLM response object (none reach here today; kept whole all the same)
        body = {"object": "chat.completion", "choices": [{"index": 0, "finish_reason": "stop",
                                                          "message": {"role": "assistant", "content": outcome.text}}]}
    body.update(id=record.request_id, object="chat.completion", created=int(record.ts), model=answered_as(outcome))
    body["usage"] = summed_usage(outcome.calls) if outcome.merged else (body.get("usage") or summed_usage([answering]))
    body["crossroute"] = info(record, outcome)
    return body


def _carries_nothing(choice: dict) -> bool:
    delta = choice.get("delta") or {}
    return choice.get("finish_reason") is None and choice.get("logprobs") is None and not any(
        value not in (None, "", [], {}) for key, value in delta.items() if key != "role")


def chunk(data: dict, request_id: str, model: str, client_wants_usage: bool) -> dict | None:
    """One streamed chunk as the client gets it (None: a usage-only chunk the client did not ask for)."""
    data = dict(data)
    for choice in data.get("choices") or []:
        if not choice.get("provider_specific_fields"):
            choice.pop("provider_specific_fields", None)
    data.update(id=request_id, model=model)
    if data.get("usage") and all(_carries_nothing(c) for c in data.get("choices") or []):
        data["choices"] = []  # the usage chunk as OpenAI sends it (some LiteLLM versions add an empty choice)
    if not client_wants_usage:
        data.pop("usage", None)
        if not data.get("choices"):
            return None
    return data
