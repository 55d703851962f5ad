"""The routing service: what every integration (the server, the LiteLLM SDK strategy and the proxy hook) does to route
one request. It resolves λ and where it came from, applies the request's own limits and what each model can take,
scores and decides within the routing time limit, orders the fallbacks for this request, keeps a conversation on its
model, starts the decision record, charges a budget and writes the log, so each integration only calls models and
relays answers."""
from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from router_core.data.messages import Conversation
from router_core.decisionlog.schema import DecisionRecord, Status
from router_core.decisionlog.store import DecisionLog
from router_core.errors import RouterInputError
from router_core.feedback import explore
from router_core.live.policy import LambdaPolicy
from router_core.live.serving import LivePolicy
from router_core.policy.rule import check_lam
from router_core.serve.capabilities import Capability
from router_core.serve.deciding import Ask as DecisionAsk
from router_core.serve.deciding import Decider, Unsatisfiable
from router_core.serve.fallback import default_fallback_order
from router_core.serve.names import Ask, RequestError

MAX_CONVERSATIONS = 100_000  # conversations whose model is remembered (least recently used forgotten first)
RECORD_WAIT_S = 2.0  # the longest an answer waits for its record's commit; a stalled disk must not hold answers back
SHADOW_WAIT_S = 1.0  # the longest a record waits for the shadow router's decision before it is written without


@dataclass
class ServerOptions:
    """The defaults every integration shares."""

    lam: float = 0.2  # λ for requests that name none, when no λ policy is given
    policy: str = "linear"  # the decision rule
    routing_timeout: float = 0.1  # seconds; past it the request goes to the fallback order
    log_prompts: bool = False  # the decision log keeps a hash of the prompt, and its text only when asked
    max_body_bytes: int = 4 * 2**20
    admin_token: str | None = None  # GET/PUT /admin/lambda-policy answer only with this bearer token; None: off
    fallback: tuple[str, ...] | None = None  # an operator's fallback order, which wins over each request's own
    client_seconds: float = 10.0  # a client's time to send a request's headers, and again its body; then it is cut off
    feedback_token: str | None = None  # POST /v1/feedback answers only with this bearer token; None: off
    explore: float = 0.0  # share of scored hard-routed requests sent to another model (feedback/explore.py)
    seed: int | None = None  # exploration's random draws (None: fresh each start)

    def __post_init__(self):
        self.lam = check_lam(self.lam, "λ (--lam)")
        if not 0.0 <= self.explore <= 0.5:
            raise RouterInputError(f"--explore must be from 0 to 0.5 (a share of requests), got {self.explore:g}")


@dataclass
class Routed:
    """One request routed: the models to call (best first), the order to fall back along, and the decision record,
    outcome still to fill in."""

    record: DecisionRecord
    decision: object  # RouteDecision: scored, or degraded (see `degraded`)
    lam: float
    lam_source: str
    top_k: int
    chosen: list[str]
    aggregator: str | None
    order: list[str] = field(default_factory=list)  # every model this request may use, in the order to try
    answer_tokens: dict = field(default_factory=dict)  # predicted answer tokens per model (the demo's lengths)
    reason: str | None = None  # why the first model was not the router's choice, when it was not
    conversation: str | None = None
    pinned: bool = False  # the model is not the router's choice: kept from the conversation's earlier turn, or explored
    degraded: str | None = None  # why the decision came from each model's typical quality and cost (queue, timeout, error)
    text: str = ""  # what the router read of the request (a judge grades the answer against it)

    @property
    def predicted_cost_usd(self) -> float | None:
        if self.decision is None:
            return None
        if self.pinned:
            return self.decision.per_candidate[self.chosen[0]]["predicted_cost_usd"]
        return self.decision.predicted_cost_usd


class Conversations:
    """Which model answered each conversation, at which λ: later turns stay there (prompt caches, a consistent voice)."""

    def __init__(self, size: int = MAX_CONVERSATIONS):
        self._models: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()
        self.size = size

    def get(self, conversation: str) -> tuple[str, float] | None:
        with self._lock:
            found = self._models.get(conversation)
            if found is not None:
                self._models.move_to_end(conversation)
            return found

    def put(self, conversation: str, model: str, lam: float) -> None:
        with self._lock:
            self._models[conversation] = (model, lam)
            self._models.move_to_end(conversation)
            while len(self._models) > self.size:
                self._models.popitem(last=False)


class RoutingService:
    """One router, its λ policy in force, the decider and the decision log, shared by every request."""

    def __init__(self, router, live: LivePolicy | None = None, options: ServerOptions | None = None,
                 log: DecisionLog | None = None, fallback_order: list[str] | None = None,
                 capabilities: dict[str, Capability] | None = None, shadow=None, judge=None):
        self.router = router
        self.options = options or ServerOptions()
        self.live = live or LivePolicy(router, LambdaPolicy(lam=self.options.lam))
        self.log = log
        self.decider = Decider(router, self.options.policy, self.options.routing_timeout)
        self.fallback_order = fallback_order or default_fallback_order(router)
        self.capabilities = capabilities or {}
        self.conversations = Conversations()
        self.slow_records = 0  # answers sent before their record's commit (it took over RECORD_WAIT_S)
        self.rng = np.random.default_rng(self.options.seed)
        self.shadow = shadow  # serve/shadow.py: a candidate router deciding every request beside this one, unheeded
        self.judge = judge  # serve/judge.py: scores a sample of answers as feedback
        self._watcher: asyncio.Task | None = None

    def lam(self, asked: float | None) -> tuple[float, str]:
        """λ for a request: its own when it names one, else the policy in force now, and where it came from."""
        return (asked, "request") if asked is not None else self.live.lam()

    def allowed(self, ask: Ask, prompt_tokens: int | None, wants_tools: bool, has_images: bool) -> np.ndarray:
        """(M,) the models a request may use before scoring: its own list and exclusions, then what each can take.

        Raises:
            RequestError (400) naming what leaves no model.
        """
        names = list(self.router.candidates)
        allowed = np.array([(ask.models is None or m in ask.models) and m not in ask.exclude for m in names])
        refused = {m: why for m in names if (why := self.capabilities.get(m, Capability()).refuses(
            prompt_tokens, wants_tools, has_images))}
        able = allowed & np.array([m not in refused for m in names])
        if not able.any():
            detail = "; ".join(f"{m}: {refused[m]}" for m, ok in zip(names, allowed) if ok and m in refused)
            raise RequestError(f"no model this request may use can take it ({detail})", param="messages")
        return able

    def _order(self, decision, allowed: np.ndarray, first: str | None) -> list[str]:
        """This request's fallback order: an operator's --fallback, else its own ranking by utility at its λ; only
        models it may use; `first` leads."""
        names = [m for m, ok in zip(self.router.candidates, allowed) if ok]
        if self.options.fallback:
            ranked = [m for m in self.options.fallback if m in names] + [m for m in self.fallback_order if m in names]
        elif decision is not None:
            ranked = sorted(names, key=lambda m: -decision.per_candidate[m]["utility"])
        else:
            ranked = [m for m in self.fallback_order if m in names]
        ranked = list(dict.fromkeys(ranked + names))
        return ([first] if first else []) + [m for m in ranked if m != first]

    async def route(self, conversation: Conversation, ask: Ask, request_id: str, user: str | None = None,
                    team: str | None = None, arrived: float | None = None, prompt_tokens: int | None = None,
                    wants_tools: bool = False) -> Routed:
        """Score and decide; on a late or failed decision the first model of this request's fallback order, with the
        reason. Raises RequestError (400) when the request's own limits leave no model."""
        lam, source = self.lam(ask.lam)
        allowed = self.allowed(ask, prompt_tokens, wants_tools, conversation.has_images)
        record = DecisionRecord.for_prompt(request_id, conversation.routing_text, self.options.log_prompts,
                                           ts=arrived if arrived is not None else time.time(), user=user, team=team,
                                           lam=lam, lam_source=source, policy=self.options.policy, top_k=ask.top_k,
                                           prompt_tokens=prompt_tokens, turns=conversation.turns,
                                           tools_offered=len(conversation.tool_names), conversation=ask.conversation)
        plain = allowed.all() and ask.max_cost_usd is None and ask.min_quality is None
        decision_ask = DecisionAsk(conversation.routing_text, lam, ask.top_k, prompt_tokens, None if plain else allowed,
                                   ask.max_cost_usd, ask.min_quality)
        try:
            decided = await self.decider.decide(decision_ask)
        except Unsatisfiable as e:
            raise RequestError(str(e), param=e.param) from e
        decision = decided.decision
        if self.shadow is not None:
            self.shadow.start(request_id, conversation.routing_text, lam, None if plain else allowed, prompt_tokens)
        record.with_decision(decision, decided.seconds)
        record.degraded = decided.degraded
        pinned = self._pinned(ask, lam, allowed)
        explored = None
        if pinned is not None:
            chosen, aggregator = [pinned], None
        else:
            chosen, aggregator = list(decision.candidates), decision.aggregator
            if ask.top_k == 1 and decided.degraded is None and decision is not None:
                explored = self._explore(record, decision, allowed)
                chosen = [explored or chosen[0]]
        order = self._order(decision, allowed, chosen[0])
        routed = Routed(record, decision, lam, source, ask.top_k, chosen, aggregator, order, decided.answer_tokens, None,
                        ask.conversation, pinned is not None or explored is not None, decided.degraded,
                        conversation.routing_text)
        if routed.pinned and decision is not None:
            record.predicted_cost_usd = routed.predicted_cost_usd
        return routed

    def _explore(self, record: DecisionRecord, decision, allowed: np.ndarray) -> str | None:
        """Record each model's chance of being chosen; with the exploration share, the model drawn instead of the
        router's choice (None: the router's choice stands)."""
        names = [m for m, ok in zip(self.router.candidates, allowed) if ok]
        greedy = decision.candidate
        utilities = {m: decision.per_candidate[m]["utility"] for m in names}
        chances = explore.probabilities(utilities, names, greedy, self.options.explore)
        record.candidates = {m: {**values, "probability": chances.get(m, 0.0)} for m, values in decision.per_candidate.items()}
        picked = explore.draw(chances, self.rng) if self.options.explore > 0 else greedy
        record.propensity, record.explored = chances[picked], int(picked != greedy)
        return picked if picked != greedy else None

    def _pinned(self, ask: Ask, lam: float, allowed: np.ndarray) -> str | None:
        """The model an earlier turn of this conversation used, when this turn asks for the same λ and may use it."""
        if ask.conversation is None or ask.top_k != 1:
            return None
        found = self.conversations.get(ask.conversation)
        if found is None or abs(found[1] - lam) > 1e-12:
            return None
        names = list(self.router.candidates)
        return found[0] if found[0] in names and allowed[names.index(found[0])] else None

    def answered(self, routed: Routed, model: str) -> None:
        """A conversation's turn was answered by `model`: its later turns at this λ go there too."""
        if routed.conversation is not None and routed.top_k == 1:
            self.conversations.put(routed.conversation, model, routed.lam)

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
            self.charge(routed, routed.predicted_cost_usd, [model])
        self.write(record)
        return record

    def write(self, record: DecisionRecord) -> None:
        if self.shadow is not None:
            self.shadow.fill(record)
        if self.log is not None:
            self.log.append(record)

    async def recorded(self, record: DecisionRecord) -> None:
        """Write the record and return once it is committed (at most RECORD_WAIT_S), so that a request the client has
        an answer for is in the log even if the server is killed the next moment."""
        if self.shadow is not None:
            await self.shadow.settle(record, SHADOW_WAIT_S)
        if self.log is None:
            return
        loop = asyncio.get_running_loop()
        committed = loop.create_future()

        def written():
            loop.call_soon_threadsafe(lambda: committed.done() or committed.set_result(None))

        self.log.append(record, written)
        try:
            await asyncio.wait_for(committed, RECORD_WAIT_S)
        except asyncio.TimeoutError:
            self.slow_records += 1

    async def start(self) -> None:
        """Before serving: score once (the first query opens the encoder's sessions) and watch the λ policy."""
        await self.decider.warm(self.live.lam()[0])
        self._watcher = asyncio.create_task(self.live.watch())

    def poll(self) -> None:
        """For integrations without a serving loop: re-read the policy file and update a budget when due."""
        self.live.poll()

    def promote(self, router) -> str:
        """Route with `router` from the next request on (same models; warmed by the caller). Returns the old id."""
        if sorted(router.candidates) != sorted(self.router.candidates):
            raise RouterInputError(f"the router routes over {', '.join(router.candidates)}, this server over "
                                   f"{', '.join(self.router.candidates)}: a promoted router must have the same models")
        old, previous_decider = self.router, self.decider
        self.decider = Decider(router, self.options.policy, self.options.routing_timeout)
        self.router = router
        self.fallback_order = default_fallback_order(router)
        self.live.use_router(router)
        if self.shadow is not None and self.shadow.router is router:
            self.shadow.close()
            self.shadow = None
        previous_decider.close()  # what it has queued still runs; new requests go to the new one
        return old.id

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
        if self.shadow is not None:
            self.shadow.close()
        self.decider.close()
        if self.log is not None:
            self.log.close()
