"""The routing service: what every integration (the server, the LiteLLM SDK strategy and the proxy hook) does to route
one request. It resolves λ and where it came from, scores and decides within the routing time limit, starts the
decision record, charges a budget and writes the log, so each integration only calls models and relays answers."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from router_core.decisionlog.schema import DecisionRecord, Status
from router_core.decisionlog.store import DecisionLog
from router_core.live.policy import LambdaPolicy
from router_core.live.serving import LivePolicy
from router_core.policy.rule import check_lam
from router_core.serve.deciding import Decider
from router_core.serve.fallback import default_fallback_order
from router_core.serve.names import Ask


@dataclass
class ServerOptions:
    """The defaults every integration shares."""

    lam: float = 0.2  # λ for requests that name none, when no λ policy is given
    policy: str = "linear"  # the decision rule
    routing_timeout: float = 0.1  # seconds; past it the request goes to the fallback order
    log_prompts: bool = False  # the decision log keeps a hash of the prompt, and its text only when asked
    max_body_bytes: int = 4 * 2**20
    admin_token: str | None = None  # GET/PUT /admin/lambda-policy answer only with this bearer token; None: off

    def __post_init__(self):
        self.lam = check_lam(self.lam, "λ (--lam)")


@dataclass
class Routed:
    """One request routed: the models to call (best first) and the decision record, outcome still to fill in."""

    record: DecisionRecord
    decision: object | None  # RouteDecision, None when routing failed or was late (`reason` says why)
    lam: float
    lam_source: str
    top_k: int
    chosen: list[str]
    aggregator: str | None
    answer_tokens: dict = field(default_factory=dict)  # predicted answer tokens per model (the demo's lengths)
    reason: str | None = None


class RoutingService:
    """One router, its λ policy in force, the decider and the decision log, shared by every request."""

    def __init__(self, router, live: LivePolicy | None = None, options: ServerOptions | None = None,
                 log: DecisionLog | None = None, fallback_order: list[str] | None = None):
        self.router = router
        self.options = options or ServerOptions()
        self.live = live or LivePolicy(router, LambdaPolicy(lam=self.options.lam))
        self.log = log
        self.decider = Decider(router, self.options.policy, self.options.routing_timeout)
        self.fallback_order = fallback_order or default_fallback_order(router)
        self._watcher: asyncio.Task | None = None

    def lam(self, asked: float | None) -> tuple[float, str]:
        """λ for a request: its own when it names one, else the policy in force now, and where it came from."""
        return (asked, "request") if asked is not None else self.live.lam()

    async def route(self, prompt: str, ask: Ask, request_id: str, user: str | None = None, team: str | None = None,
                    arrived: float | None = None) -> Routed:
        """Score and decide; on a late or failed decision the fallback order's first model, with the reason."""
        lam, source = self.lam(ask.lam)
        record = DecisionRecord.for_prompt(request_id, prompt, self.options.log_prompts,
                                           ts=arrived if arrived is not None else time.time(), user=user, team=team,
                                           lam=lam, lam_source=source, policy=self.options.policy, top_k=ask.top_k)
        decision, answer_tokens, reason, seconds = await self.decider.decide(prompt, lam, ask.top_k)
        record.with_decision(decision, seconds)
        if decision is not None:
            chosen, aggregator = list(decision.candidates), decision.aggregator
        else:
            chosen, aggregator = [self.fallback_order[0]], None
        return Routed(record, decision, lam, source, ask.top_k, chosen, aggregator, answer_tokens, reason)

    def charge(self, routed: Routed, measured_usd: float, called: list[str]) -> None:
        """A budget's evidence for a request served here (with a decision log, the budget reads the log instead)."""
        self.live.record(routed.decision, measured_usd, called)

    def handed_over(self, routed: Routed, model: str) -> DecisionRecord:
        """A request whose call LiteLLM makes (strategy, proxy hook): logged as routed, charged at its predicted cost."""
        record = routed.record
        if routed.reason is not None:
            record.fallback_reason = routed.reason
        record.model, record.called, record.status = model, [model], Status.ROUTED.value
        if routed.decision is not None:
            self.charge(routed, routed.decision.predicted_cost_usd, [model])
        self.write(record)
        return record

    def write(self, record: DecisionRecord) -> None:
        if self.log is not None:
            self.log.append(record)

    async def start(self) -> None:
        """Before serving: score once (the first query opens the encoder's sessions) and watch the λ policy."""
        await self.decider.warm(self.live.lam()[0])
        self._watcher = asyncio.create_task(self.live.watch())

    def poll(self) -> None:
        """For integrations without a serving loop: re-read the policy file and update a budget when due."""
        self.live.poll()

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
        self.decider.close()
        if self.log is not None:
            self.log.close()
