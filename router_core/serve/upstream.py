"""Calls to the upstream models through LiteLLM, with the fallback order that keeps every request answered."""
from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field

from router_core.data.catalog import Catalog
from router_core.model.text import estimate_tokens
from router_core.serve.deployments import Deployments

AGGREGATE_PROMPT = ("You are given {k} candidate answers to the conversation above, from different models. Merge them "
                    "into one answer that keeps what is correct and useful in each, fixes their mistakes, and reads as "
                    "a single reply to the user. Reply with the merged answer only.\n\n{answers}")


@dataclass
class Call:
    """One upstream call's outcome."""

    model: str
    text: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0
    error: str | None = None
    refused: bool = False  # the upstream refused the request itself (a 400, 413 or 422), not a failure of the model
    response: object = None  # LiteLLM's response, for the fields we pass through

    @classmethod
    def failure(cls, model: str, error: BaseException, started: float) -> Call:
        return cls(model, seconds=time.perf_counter() - started, error=_error_text(error), refused=_is_refusal(error))


@dataclass
class Outcome:
    """What answered a request: the model whose answer the client gets, every call made, and any fallback. With soft
    routing, `merged` names the models whose answers the aggregator (`model`) merged."""

    model: str
    text: str
    calls: list[Call] = field(default_factory=list)
    fallback_reason: str | None = None
    merged: tuple[str, ...] = ()

    @property
    def answer(self) -> Call | None:
        """The call whose response the client gets."""
        return next((c for c in reversed(self.calls) if c.model == self.model and c.error is None), None)

    @property
    def cost_usd(self) -> float:
        return sum(c.cost_usd for c in self.calls)

    @property
    def input_tokens(self) -> int:
        return sum(c.input_tokens for c in self.calls)

    @property
    def output_tokens(self) -> int:
        return sum(c.output_tokens for c in self.calls)


class AllModelsFailed(RuntimeError):
    """Every model in the fallback order failed: the one case a request cannot be answered. `refused` when every
    model refused the request as invalid, which is the client's to fix (a 400), not the upstreams' (a 502)."""

    def __init__(self, calls: list[Call], detail: str | None = None):
        failed = [c for c in calls if c.error is not None]
        super().__init__(detail or "; ".join(f"{c.model}: {c.error}" for c in failed) or "no model answered")
        self.calls = calls
        self.refused = bool(failed) and all(c.refused for c in failed)


class MalformedAnswer(ValueError):
    """The upstream answered 200 with something that is not a chat completion."""


def _answer_text(response) -> str:
    """The first choice's text ("" for an answer that is a tool call or a refusal); MalformedAnswer for no answer."""
    choices = getattr(response, "choices", None)
    message = getattr(choices[0], "message", None) if choices else None
    content = getattr(message, "content", None)
    answered = (isinstance(content, str) or getattr(message, "tool_calls", None) or getattr(message, "function_call", None)
                or getattr(message, "refusal", None))
    if message is None or not answered:
        raise MalformedAnswer("the upstream's answer holds no message")
    return content or ""


def _is_refusal(error: BaseException) -> bool:
    return getattr(error, "status_code", None) in (400, 413, 422)


def _error_text(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}"[:300]


def cached_tokens_of(usage) -> int:
    """Prompt tokens the provider read from its cache, from a usage object or dict (0 where it says nothing)."""
    if usage is None:
        return 0
    details = usage.get("prompt_tokens_details") if isinstance(usage, dict) else getattr(usage, "prompt_tokens_details", None)
    if details is None:
        return 0
    value = details.get("cached_tokens") if isinstance(details, dict) else getattr(details, "cached_tokens", None)
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else 0


class Upstream:
    """The LiteLLM Router over the configured deployments, priced with the router's catalog.

    Args:
        demo: answer with LiteLLM mock responses whose length is the router's predicted answer length for the model,
            after a short simulated latency; nothing leaves the machine.
        timeout, num_retries: per call, as LiteLLM's Router takes them.
    """

    def __init__(self, deployments: Deployments, catalog: Catalog | None, fallback_order: list[str], demo: bool = False,
                 timeout: float = 60.0, num_retries: int = 2, demo_latency: float = 0.05):
        import litellm

        litellm.suppress_debug_info = True
        self.router = litellm.Router(model_list=[dict(e) for e in deployments.model_list], num_retries=num_retries,
                                     timeout=timeout, retry_after=0)
        self.catalog, self.demo, self.demo_latency = catalog, demo, demo_latency
        self.fallback_order = fallback_order

    def _price(self, model: str, input_tokens: int, output_tokens: int, response, cached_tokens: int = 0) -> float:
        if self.catalog is not None and model in self.catalog.names:
            if response is not None:
                cached_tokens = cached_tokens_of(getattr(response, "usage", None))
            return float(self.catalog[model].cost_usd(input_tokens, output_tokens, min(cached_tokens, input_tokens)))
        hidden = getattr(response, "_hidden_params", None) or {}
        cost = hidden.get("response_cost")
        return float(cost) if isinstance(cost, (int, float)) and math.isfinite(cost) else 0.0

    def _demo_kwargs(self, model: str, messages: list[dict], answer_tokens: float | None) -> dict:
        """A LiteLLM mock response as long (in tokens) as the router predicts this model's answer to be."""
        from litellm import ModelResponse

        prompt_tokens = estimate_tokens(" ".join(str(m.get("content", "")) for m in messages))
        tokens = int(answer_tokens) if answer_tokens and math.isfinite(answer_tokens) and answer_tokens >= 1 else 120
        text = (f"This is a demo answer from {model}: CrossRoute runs with --demo, so no model was called. "
                f"A real answer would be about {tokens} tokens long.")
        return {"mock_response": ModelResponse(
            model=model, choices=[{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            usage={"prompt_tokens": prompt_tokens, "completion_tokens": tokens, "total_tokens": prompt_tokens + tokens})}

    async def call(self, model: str, messages: list[dict], params: dict, answer_tokens: float | None = None) -> Call:
        """One non-streaming call; errors (after LiteLLM's retries) come back in Call.error, never raised."""
        started = time.perf_counter()
        extra = self._demo_kwargs(model, messages, answer_tokens) if self.demo else {}
        try:
            if self.demo:
                await asyncio.sleep(self.demo_latency)
            response = await self.router.acompletion(model=model, messages=messages, **params, **extra)
            text = _answer_text(response)
            usage = getattr(response, "usage", None)
            input_tokens = int(getattr(usage, "prompt_tokens", 0) or 0) or estimate_tokens(" ".join(str(m.get("content", "")) for m in messages))
            output_tokens = int(getattr(usage, "completion_tokens", 0) or 0) or estimate_tokens(text)
        except Exception as e:  # noqa: BLE001 - any upstream failure is a fallback, never a lost request
            return Call.failure(model, e, started)
        return Call(model, text, input_tokens, output_tokens, self._price(model, input_tokens, output_tokens, response),
                    time.perf_counter() - started, response=response)

    def order_after(self, failed: list[str], order: list[str] | None = None) -> list[str]:
        return [m for m in (order or self.fallback_order) if m not in failed]

    async def hard(self, model: str, messages: list[dict], params: dict, answer_tokens: dict[str, float],
                   reason: str | None = None, exclude: tuple[str, ...] = (), order: list[str] | None = None) -> Outcome:
        """Call `model`; if it fails, each next model of `order` (default: the server's fallback order), but `exclude`
        and models already tried, until one answers. No model is called twice."""
        calls = []
        for candidate in [model] + [m for m in (order or self.fallback_order) if m != model and m not in exclude]:
            call = await self.call(candidate, messages, params, answer_tokens.get(candidate))
            calls.append(call)
            if call.error is None:
                if candidate != model:
                    reason = reason or f"{model} failed ({calls[0].error})"
                return Outcome(candidate, call.text, calls, reason)
        raise AllModelsFailed(calls)

    async def soft(self, models: list[str], aggregator: str, messages: list[dict], params: dict,
                   answer_tokens: dict[str, float], order: list[str] | None = None) -> Outcome:
        """Call `models` at once, then `aggregator` to merge their answers. With one answer left it is returned as is;
        with none, hard routing's fallback takes over along `order`. No model is called twice."""
        calls = list(await asyncio.gather(*(self.call(m, messages, params, answer_tokens.get(m)) for m in models)))
        answered = [c for c in calls if c.error is None]
        failed = [c for c in calls if c.error is not None]
        note = "; ".join(f"{c.model} failed ({c.error})" for c in failed) or None
        if not answered:
            rest = self.order_after(models, order)
            if not rest:
                raise AllModelsFailed(calls)
            try:
                outcome = await self.hard(rest[0], messages, params, answer_tokens, reason=note, exclude=tuple(models),
                                          order=rest)
            except AllModelsFailed as e:
                raise AllModelsFailed(calls + e.calls) from e
            outcome.calls = calls + outcome.calls
            outcome.fallback_reason = note
            return outcome
        if len(answered) == 1:
            return Outcome(answered[0].model, answered[0].text, calls, note)
        answers = "\n\n".join(f"Answer {i + 1}:\n{c.text}" for i, c in enumerate(answered))
        merge = messages + [{"role": "user", "content": AGGREGATE_PROMPT.format(k=len(answered), answers=answers)}]
        merged = await self.call(aggregator, merge, params, answer_tokens.get(aggregator))
        calls.append(merged)
        if merged.error is not None:
            best = answered[0]  # models are best first
            return Outcome(best.model, best.text, calls, f"aggregator {aggregator} failed ({merged.error})")
        return Outcome(aggregator, merged.text, calls, note, tuple(c.model for c in answered))

    async def stream_with_fallback(self, model: str, messages: list[dict], params: dict, answer_tokens: dict[str, float],
                                   order: list[str] | None = None):
        """Open a stream from `model`, else from each next model of `order` (default the fallback order), until one
        starts answering.

        Returns:
            (model streaming or None when all failed, its chunks so far, the rest of its stream, the failed calls).
        """
        failed = []
        for candidate in [model] + [m for m in (order or self.fallback_order) if m != model]:
            started = time.perf_counter()
            try:
                prefix, rest = await self.stream(candidate, messages, params, answer_tokens.get(candidate))
                return candidate, prefix, rest, failed
            except Exception as e:  # noqa: BLE001 - nothing has reached the client yet: try the next model
                failed.append(Call.failure(candidate, e, started))
        return None, [], None, failed

    async def stream(self, model: str, messages: list[dict], params: dict, answer_tokens: float | None = None):
        """A streaming call: returns (the chunks up to the first that carries answer text, async iterator of the rest).
        Raises before anything is returned when the call fails or its stream ends with no answer, so the caller can
        fall back while nothing has reached the client yet."""
        extra = self._demo_kwargs(model, messages, answer_tokens) if self.demo else {}
        if self.demo:
            await asyncio.sleep(self.demo_latency)
        # Usage is always asked for, to measure the call's cost; the relay drops it when the client did not ask.
        response = await self.router.acompletion(model=model, messages=messages, stream=True,
                                                 **{**params, "stream_options": {**(params.get("stream_options") or {}),
                                                                                 "include_usage": True}}, **extra)
        iterator = response.__aiter__()
        prefix = []
        async for chunk in iterator:
            prefix.append(chunk)
            if any(getattr(c.delta, "content", None) or getattr(c.delta, "tool_calls", None)
                   or getattr(c.delta, "function_call", None) or getattr(c.delta, "refusal", None) for c in chunk.choices or []):
                return prefix, iterator
        raise MalformedAnswer("the upstream's stream ended with no answer")
