"""What a request asks of the router: λ and k from the model name (`crossroute`, `crossroute-0.3`,
`crossroute-0.3-k2`) or from `extra_body={"crossroute": {...}}`, which may also hold the request's own constraints
(`models`, `exclude`, `max_cost_usd`, `min_quality`) and a conversation id."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from router_core.errors import RouterInputError
from router_core.policy.rule import check_lam

ROUTER_MODEL = "crossroute"
_NAME = re.compile(r"^crossroute(?:-(?P<lam>[0-9]*\.?[0-9]+))?(?:-k(?P<k>[0-9]+))?$")


class RequestError(ValueError):
    """A client mistake: `status` is the HTTP status, `code` and `param` go into the OpenAI-style error object."""

    def __init__(self, message: str, status: int = 400, code: str = "invalid_request_error", param: str | None = None):
        super().__init__(message)
        self.status, self.code, self.param = status, code, param


OPTIONS = ("lambda", "top_k", "models", "exclude", "max_cost_usd", "min_quality", "conversation")
MAX_CONVERSATION_ID = 200


@dataclass(frozen=True)
class Ask:
    """λ (None: the server's current λ), how many models to call (1: hard routing) and the request's own limits."""

    lam: float | None
    top_k: int
    source: str  # where λ came from: "request" or "server"
    models: tuple[str, ...] | None = None  # the models this request may use (None: every one)
    exclude: tuple[str, ...] = ()
    max_cost_usd: float | None = None  # on the predicted cost
    min_quality: float | None = None  # on the predicted quality
    conversation: str | None = None  # later turns stay on the model of the first (conversation affinity)


def _lam(value, where: str) -> float:
    try:
        return check_lam(value, f"{where}: λ")
    except RouterInputError as e:
        raise RequestError(str(e), param="crossroute.lambda") from e


def _top_k(value, where: str, n_models: int) -> int:
    most = max(1, n_models - 1)  # soft routing: the aggregator merges and is never also one of the k
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise RequestError(f"{where}: top_k must be a whole number from 1 to {most} (the router's models but the "
                           f"aggregator), got {str(value)[:40]!r}", param="crossroute.top_k")
    return value


def _names(value, where: str, candidates) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise RequestError(f"{where} must be a list of model names", param=where)
    unknown = [v for v in value if v not in candidates]
    if unknown:
        raise RequestError(f"{where}: {', '.join(repr(v[:80]) for v in unknown)} not among the router's models "
                           f"({', '.join(candidates)})", param=where)
    return tuple(dict.fromkeys(value))


def _limit(value, where: str, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 < value <= high:
        raise RequestError(f"{where} must be a number above 0 and at most {high:g}, got {str(value)[:60]!r}", param=where)
    return float(value)


def parse_ask(model, options, n_models: int, candidates: list[str] | None = None) -> Ask:
    """The request's λ, k and limits. `options` is the body's `crossroute` object, if any; it wins over the name.

    Raises:
        RequestError: 404 for a model name that is not the router's, 400 for a λ, k or limit that cannot be met.
    """
    if not isinstance(model, str):
        raise RequestError(f"model must be text such as {ROUTER_MODEL!r}, got {model!r}", param="model")
    match = _NAME.match(model.strip())
    if match is None:
        raise RequestError(f"The model {model!r} does not exist on this router; ask for {ROUTER_MODEL!r}, "
                           f"'{ROUTER_MODEL}-0.3' (λ = 0.3) or '{ROUTER_MODEL}-0.3-k2' (top 2 and an aggregator)",
                           status=404, code="model_not_found", param="model")
    lam = _lam(float(match["lam"]), f"model {model!r}") if match["lam"] is not None else None
    k = _top_k(int(match["k"]), f"model {model!r}", n_models) if match["k"] is not None else 1
    if options is not None:
        if not isinstance(options, dict):
            raise RequestError(f"crossroute must be an object such as {{\"lambda\": 0.3, \"top_k\": 2}}, got {options!r}",
                               param="crossroute")
        unknown = sorted(str(o)[:40] for o in set(options) - set(OPTIONS))
        if unknown:
            raise RequestError(f"crossroute: unknown option(s) {', '.join(unknown)}; known: {', '.join(OPTIONS)}",
                               param="crossroute")
        if "lambda" in options:
            lam = _lam(options["lambda"], "crossroute.lambda")
        if "top_k" in options:
            k = _top_k(options["top_k"], "crossroute.top_k", n_models)
    options = options or {}
    candidates = list(candidates or [])
    models = _names(options["models"], "crossroute.models", candidates) if options.get("models") is not None else None
    exclude = _names(options["exclude"], "crossroute.exclude", candidates) if options.get("exclude") is not None else ()
    if models is not None and not set(models) - set(exclude):
        raise RequestError("crossroute.exclude removes every model crossroute.models allows", param="crossroute.exclude")
    if models is None and len(set(exclude)) >= len(candidates) > 0:
        raise RequestError("crossroute.exclude removes every model of the router", param="crossroute.exclude")
    max_cost = _limit(options["max_cost_usd"], "crossroute.max_cost_usd", 1e6) if options.get("max_cost_usd") is not None else None
    min_quality = None
    if options.get("min_quality") is not None:
        value = options["min_quality"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and 0 <= value <= 1):
            raise RequestError(f"crossroute.min_quality must be a number in [0, 1], got {str(value)[:60]!r}",
                               param="crossroute.min_quality")
        min_quality = float(value)
    conversation = options.get("conversation")
    if conversation is not None and (not isinstance(conversation, str) or not conversation.strip()
                                     or len(conversation) > MAX_CONVERSATION_ID):
        raise RequestError(f"crossroute.conversation must be a non-empty id of at most {MAX_CONVERSATION_ID} characters",
                           param="crossroute.conversation")
    return Ask(lam, k, "request" if lam is not None else "server", models, exclude, max_cost, min_quality, conversation)
