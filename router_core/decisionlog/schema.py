"""What one row of the decision log holds, what its status means, and the SQL every reader shares for those meanings."""
from __future__ import annotations

import dataclasses
import enum
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

LOG_FILE = "decisions.sqlite"


class Status(str, enum.Enum):
    OK = "ok"  # answered by the server; cost_usd is what the calls measured
    ERROR = "error"  # every model failed; nothing was answered
    ROUTED = "routed"  # a LiteLLM strategy or proxy hook chose the model and LiteLLM made the call; cost is predicted
    CANCELLED = "cancelled"  # the client left mid-stream; the upstream was called, and cost_usd is what it had used


# The USD a row is charged (its spend, and what a daily budget counts): the measured cost when the row has one (a failed
# stream was still paid for), else the predicted cost of a routed row, whose call LiteLLM made and measured.
CHARGED_USD_SQL = f"COALESCE(cost_usd, CASE WHEN status = '{Status.ROUTED.value}' THEN predicted_cost_usd END, 0)"
FAILED_SQL = f"status = '{Status.ERROR.value}'"
# The requests the Monitoring cost table compares: answered, hard-routed, with a prediction of their cost.
PRICED_SQL = f"status = '{Status.OK.value}' AND top_k = 1 AND predicted_cost_usd IS NOT NULL"

COLUMNS = {  # name -> SQLite type; `candidates` and `called` hold JSON
    "ts": "REAL NOT NULL", "request_id": "TEXT NOT NULL", "user": "TEXT", "team": "TEXT", "prompt_sha256": "TEXT",
    "prompt": "TEXT", "lam": "REAL", "lam_source": "TEXT", "policy": "TEXT", "top_k": "INTEGER", "candidates": "TEXT",
    "called": "TEXT", "model": "TEXT", "input_tokens": "INTEGER", "output_tokens": "INTEGER", "cost_usd": "REAL",
    "predicted_cost_usd": "REAL", "routing_ms": "REAL", "upstream_ms": "REAL", "status": "TEXT NOT NULL",
    "fallback_reason": "TEXT", "error": "TEXT", "prompt_tokens": "INTEGER", "turns": "INTEGER", "tools_offered": "INTEGER",
    "conversation": "TEXT", "degraded": "TEXT", "propensity": "REAL", "explored": "INTEGER",
    "shadow_router": "TEXT", "shadow_model": "TEXT", "shadow_predicted_cost_usd": "REAL",
}
JSON_COLUMNS = ("candidates", "called")


def log_path(folder: str | Path) -> Path:
    """The decision log file of a log folder."""
    return Path(folder) / LOG_FILE


def log_file(folder_or_file: str | Path) -> Path:
    """A decision log given as its folder or as the file itself."""
    path = Path(folder_or_file)
    return path / LOG_FILE if path.is_dir() else path


@dataclass
class DecisionRecord:
    """One request as the log keeps it. Filled in two steps: what is known before any model is called (who asked, λ,
    the router's decision), then the outcome (models called, tokens, cost, status)."""

    request_id: str
    ts: float = field(default_factory=time.time)  # arrival, unix seconds
    user: str | None = None
    team: str | None = None
    prompt_sha256: str | None = None
    prompt: str | None = None  # kept only when the server is told to log prompts
    lam: float | None = None
    lam_source: str | None = None  # request, fixed, schedule or budget
    policy: str | None = None  # the decision rule
    top_k: int = 1
    candidates: dict | None = None  # per model: weight, predicted_quality, predicted_cost_usd, utility
    called: list | None = None
    model: str | None = None  # the model whose answer the client got
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None  # measured
    predicted_cost_usd: float | None = None
    routing_ms: float | None = None
    upstream_ms: float | None = None
    status: str = Status.OK.value
    fallback_reason: str | None = None
    error: str | None = None
    prompt_tokens: int | None = None  # the whole prompt (every message, the tool definitions), counted before the call
    turns: int | None = None  # user and assistant messages in the conversation
    tools_offered: int | None = None  # tools (or functions) the request offered
    conversation: str | None = None  # the conversation id a request named (its later turns stay on one model)
    degraded: str | None = None  # why the decision came from each model's typical quality and cost, not from scoring
    propensity: float | None = None  # the probability with which the routed model was chosen (1 without exploration)
    explored: int | None = None  # 1: exploration sent the request to another model than the router's choice
    shadow_router: str | None = None  # a candidate router in shadow (serve --shadow): its id,
    shadow_model: str | None = None  # the model it would have chosen,
    shadow_predicted_cost_usd: float | None = None  # and what it predicted that model would cost

    @classmethod
    def for_prompt(cls, request_id: str, prompt: str, keep_prompt: bool = False, **fields) -> "DecisionRecord":
        """A record for `prompt`: its hash always, its text only when `keep_prompt`."""
        digest = hashlib.sha256(prompt.encode("utf-8", "surrogatepass")).hexdigest()
        return cls(request_id, prompt_sha256=digest, prompt=prompt if keep_prompt else None, **fields)

    def with_decision(self, decision, seconds: float, reason: str | None = None) -> "DecisionRecord":
        """The router's decision (None when routing failed or was late, with `reason`) and how long it took."""
        self.routing_ms = seconds * 1000
        if decision is not None:
            self.candidates, self.predicted_cost_usd = decision.per_candidate, decision.predicted_cost_usd
        if reason is not None:
            self.fallback_reason = reason
        return self

    def to_row(self) -> dict:
        return dataclasses.asdict(self)
