"""Prometheus metrics of one server: requests and tokens per model called, routing latency, degraded decisions,
fallbacks, spend."""
from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

ROUTING_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("crossroute_requests", "Requests answered, by the model whose answer was returned and status",
                                ["model", "status"], registry=self.registry)
        self.calls = Counter("crossroute_upstream_calls", "Upstream calls, by model and outcome", ["model", "outcome"],
                             registry=self.registry)
        self.tokens = Counter("crossroute_tokens", "Tokens measured on upstream calls, by model and direction",
                              ["model", "direction"], registry=self.registry)
        self.spend = Counter("crossroute_spend_usd", "Measured spend in USD (usage × catalog prices), by model", ["model"],
                             registry=self.registry)
        self.fallbacks = Counter("crossroute_fallbacks", "Requests that fell back, by reason", ["reason"],
                                 registry=self.registry)
        self.routing_seconds = Histogram("crossroute_routing_seconds", "Time to score a request and choose its model(s)",
                                         buckets=ROUTING_BUCKETS, registry=self.registry)
        self.degraded = Counter("crossroute_degraded_decisions", "Decisions taken from each model's typical quality and "
                                "cost because scoring could not keep up, by reason (queue, timeout, error)", ["reason"],
                                registry=self.registry)
        self.rejected = Counter("crossroute_rejected_requests", "Bad requests answered with a 4xx, by status", ["status"],
                                registry=self.registry)
        self.shadow_skipped = Gauge("crossroute_shadow_skipped", "Requests the router in shadow did not decide (too far "
                                    "behind, or it failed)", registry=self.registry)
        self.judge_spend = Gauge("crossroute_judge_spend_usd_today", "What the judge's calls cost today (UTC), calls in "
                                 "flight counted at the most they can cost", registry=self.registry)
        self.judged = Gauge("crossroute_judged_requests", "Requests the judge scored since start", registry=self.registry)
        self.feedback = Counter("crossroute_feedback", "Feedback scores received, by source", ["source"],
                                registry=self.registry)
        self.log_failures = Gauge("crossroute_decision_log_failures", "Decision records that could not be written",
                                  registry=self.registry)
        self.log_errors = Gauge("crossroute_decision_log_errors", "Batches the decision log's writer could not write at "
                                "once (written again record by record, or counted as failures)", registry=self.registry)
        self.slow_records = Gauge("crossroute_decision_log_slow_commits", "Answers sent before their decision record was "
                                  "committed, because the commit took longer than the server waits", registry=self.registry)
        self.policy_failures = Gauge("crossroute_lambda_policy_failures", "λ policies refused and policy-watcher "
                                     "failures since start (the policy in force stayed)", registry=self.registry)

    def observe_calls(self, calls) -> None:
        for call in calls:
            self.calls.labels(call.model, "error" if call.error else "ok").inc()
            if call.error is None:
                self.tokens.labels(call.model, "input").inc(call.input_tokens)
                self.tokens.labels(call.model, "output").inc(call.output_tokens)
                self.spend.labels(call.model).inc(call.cost_usd)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
