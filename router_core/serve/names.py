"""What a request asks of the router: λ and k from the model name (`crossroute`, `crossroute-0.3`,
`crossroute-0.3-k2`) or from `extra_body={"crossroute": {"lambda": 0.3, "top_k": 2}}`."""
from __future__ import annotations

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


@dataclass(frozen=True)
class Ask:
    """λ (None: the server's current λ) and how many models to call (1: hard routing)."""

    lam: float | None
    top_k: int
    source: str  # where λ came from: "request" or "server"


def _lam(value, where: str) -> float:
    try:
        return check_lam(value, f"{where}: λ")
    except RouterInputError as e:
        raise RequestError(str(e), param="crossroute.lambda") from e


def _top_k(value, where: str, n_models: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= n_models:
        raise RequestError(f"{where}: top_k must be a whole number from 1 to {n_models} (the router's models), "
                           f"got {value!r}", param="crossroute.top_k")
    return value


def parse_ask(model, options, n_models: int) -> Ask:
    """The request's λ and k. `options` is the body's `crossroute` object, if any; it wins over the name.

    Raises:
        RequestError: 404 for a model name that is not the router's, 400 for a λ or k out of range.
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
        unknown = sorted(set(options) - {"lambda", "top_k"})
        if unknown:
            raise RequestError(f"crossroute: unknown option(s) {', '.join(unknown)}; known: lambda, top_k", param="crossroute")
        if "lambda" in options:
            lam = _lam(options["lambda"], "crossroute.lambda")
        if "top_k" in options:
            k = _top_k(options["top_k"], "crossroute.top_k", n_models)
    return Ask(lam, k, "request" if lam is not None else "server")
