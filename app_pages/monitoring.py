"""Monitoring: what the router really did, from a decision log (the server's, or the sample's replayed demo)."""
import os
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from router_core import RouterInputError
from router_core.dashboard_views.figures import as_text, escape_markdown
from router_core.dashboard_views.monitoring import (
    lambda_figure,
    mix_over_time_figure,
    spend_figure,
    traffic_figure,
    weights_figure,
)
from router_core.decisionlog import queries as mon
from router_core.decisionlog.store import default_log_dir
from router_core.demo.views import demo_decisions
from router_core.feedback.evaluate import shadow_quality
from router_core.live.policy import read_policy
from router_core.live.serving import POLICY_FILE
from router_core.model.score_cache import default_cache_dir
from router_core.traffic.log_scoring import is_scored_log
from router_core.traffic.replay_log import replayed_decisions
from router_core.units import usd

RANGES = {"Last hour": 3600, "Last 24 hours": 86400, "Last 7 days": 7 * 86400, "Everything": None}
LIVE_SECONDS = 600  # a log written to within this long counts as live: the page refreshes itself



def served_budget(folder: Path) -> float:
    """The daily budget of the policy the server runs (it writes it beside its log), else 0: no budget line."""
    try:
        text = (folder / POLICY_FILE).read_text(encoding="utf-8")
        policy = read_policy(text, str(folder / POLICY_FILE))
    except (OSError, RouterInputError):
        return 0.0
    return float(policy.budget.daily_usd) if policy.budget is not None else 0.0


st.title("Monitoring")
demo = demo_decisions(st.session_state["sample_dir"])
served = default_log_dir()  # where `serve` logs when not given --log ($CROSSROUTE_DECISIONS wins)
default = str(served) if (served / "decisions.sqlite").exists() else os.environ.get("CROSSROUTE_DECISIONS", "")
source = st.text_input("Decision log folder (the server's `--log`), or a scored request log (`score-log --out`: a "
                       "Parquet file or a folder of parts) to replay; empty: the sample's demo log", value=default,
                       help="A replay (the demo log too) runs a scored log through the budget controller at its own "
                            "timestamps: decisions and costs as the server would have recorded them, no latencies.")
log_folder = None  # a server's decision log (not a replay): where feedback and shadow decisions are
try:
    path = Path(source.strip()).expanduser()
    if source.strip() and is_scored_log(path):
        with st.spinner("Replaying the scored log through the budget controller (once per log, router and prices)…"):
            replayed, budget_default = replayed_decisions(path, st.session_state["router"], default_cache_dir(),
                                                          catalog=st.session_state["catalog"])
        connection, replay = mon.connect(replayed), True
        label = (f"{escape_markdown(source.strip())} replayed at a daily budget of {escape_markdown(usd(budget_default))} "
                 "(a replay's costs: measured where the log called the chosen model, else predicted by the router)")
    elif source.strip():
        connection, budget_default, label, replay = mon.connect(path), served_budget(path), escape_markdown(source.strip()), False
        log_folder = path
    elif demo is not None:
        connection, budget_default, label, replay = mon.connect(demo[0]), demo[1], "the sample's demo log (a replay)", True
    else:
        st.info("No decision log yet: start the server (`crossroute serve --demo`) and give its `--log` folder here.")
        st.stop()
except RouterInputError as e:
    st.error(escape_markdown(e))
    st.stop()

first, last, total = mon.span(connection)
if not total:
    st.info("The decision log is empty so far.")
    st.stop()
live = 0 <= time.time() - last < LIVE_SECONDS
left, middle, right, far = st.columns(4)
span_name = left.selectbox("Time range", list(RANGES), index=3 if not live else 1)
user = middle.selectbox("User", ["all", *mon.choices(connection, "user")])
team = right.selectbox("Team", ["all", *mon.choices(connection, "team")])
model = far.selectbox("Model answering", ["all", *mon.choices(connection, "model")])
budget = st.number_input("Daily budget for the spend chart (USD, 0: none)", 0.0, 1e9, float(budget_default), step=0.1,
                         format="%.4g", help="From the server's λ policy where it runs a budget (policy_in_force.yaml "
                                             "beside its log); the replay's budget for a replayed log")
refresh = st.toggle("Refresh every 5 seconds", value=live, help="On by default while the log is being written to")


@st.fragment(run_every=5 if refresh else None)
def panels():
    _, newest, in_log = mon.span(connection)  # one read per refresh: the range's end and the log's size
    seconds = RANGES[span_name]
    start = newest - seconds if seconds else first
    filters = mon.Filters(start=start, user=None if user == "all" else user, team=None if team == "all" else team,
                          model=None if model == "all" else model)
    scanned = mon.scan(connection, filters, mon.bucket_seconds(start, newest + 1))
    buckets = mon.over_time(scanned)
    if scanned.empty:
        st.info("No decisions match these filters.")
        return
    latency = mon.routing_latency(connection, filters)
    shown = int(buckets.requests.sum())
    st.caption(f"Reading {label}: {shown:,} decisions in this range and these filters (of {in_log:,} in the log), from "
               f"{pd.to_datetime(max(start, first), unit='s', utc=True):%Y-%m-%d %H:%M:%S} to "
               f"{pd.to_datetime(newest, unit='s', utc=True):%Y-%m-%d %H:%M:%S} UTC, in buckets of "
               f"{scanned.attrs['width']:,} s. Counts, spend and latency are measured from the log; predicted costs and "
               "routing weights are the router's predictions recorded with each decision.")
    a, b, c, g, d, e = st.columns(6)
    a.metric("Requests", f"{shown:,}", help="Measured: decisions in the log for this range and these filters")
    if replay:
        b.metric("Spend (replayed)", usd(float(buckets.spend_usd.sum())),
                 help="A replay's charge: the log's measured cost where it called the chosen model, else predicted")
    else:
        b.metric("Measured spend", usd(float(buckets.spend_usd.sum())), help="Measured: the sum of every call's usage × catalog price")
    c.metric("Fell back", f"{int(buckets.fell_back.sum()):,}", help="Answered by a model of the fallback order")
    requests = max(int(buckets.requests.sum()), 1)
    g.metric("Degraded", f"{int(buckets.degraded.sum()) / requests:.1%}",
             help="Measured: decisions taken from each model's typical quality and cost (still at the request's λ) "
                  "because scoring could not keep up; the reasons are in the table below")
    d.metric("Failed", f"{int(buckets.failed.sum()):,}", help="Every model failed: the client got an error")
    e.metric("Routing p50 / p99 (ms)", f"{latency['p50_ms']:.1f} / {latency['p99_ms']:.1f}" if latency else "–",
             help="Measured: arrival to decision, from a histogram of the log (bins 5% wide). – : nothing timed (a replay "
                  "of a past log times no routing)")
    st.plotly_chart(traffic_figure(buckets), width="stretch")
    st.plotly_chart(mix_over_time_figure(mon.model_mix(scanned)), width="stretch")
    st.plotly_chart(lambda_figure(mon.lambda_sources(scanned), scanned.attrs["width"]), width="stretch")
    st.plotly_chart(spend_figure(buckets, budget or None, replay), width="stretch")
    costs = mon.cost_by_model(scanned)
    left, right = st.columns([3, 2])
    with left:
        st.subheader("Predicted against measured cost")
        st.caption("Hard-routed requests that succeeded: the router's predicted cost of the model it chose against what "
                   "the call measured. A ratio above 1: the router under-predicts that model's cost.")
        shown = costs.rename(columns={"predicted_usd": "predicted", "measured_usd": "measured",
                                      "measured_vs_predicted": "measured ÷ predicted"})
        st.dataframe(as_text(shown, {"predicted": "${:.4f}", "measured": "${:.4f}", "measured ÷ predicted": "{:.2f}"}),
                     hide_index=True, width="stretch")
    with right:
        st.subheader("Degraded decisions, fallbacks and failures")
        kinds = mon.reasons(connection, filters)
        if kinds.empty:
            st.caption("None in this range: every request was scored and answered by the model the router chose.")
        else:
            st.dataframe(kinds.rename(columns={"kind": "what happened"}), hide_index=True, width="stretch")
    shadow = mon.shadow_summary(connection, filters)
    if shadow is not None:
        shadow_panel(shadow)
    weights, sampled = mon.weights_by_hour(connection, filters)
    if not weights.empty:
        st.plotly_chart(weights_figure(weights), width="stretch")
        st.caption(f"Averaged over the newest {sampled:,} decisions in the range.")


def shadow_panel(shadow: dict) -> None:
    st.subheader(f"Router in shadow ({escape_markdown(str(shadow['shadow_router']))})")
    a, b, c, d = st.columns(4)
    a.metric("Requests it decided", f"{shadow['requests']:,}", help="Measured: logged requests with a shadow decision")
    b.metric("Agrees with the router", f"{shadow['agreement']:.0%}",
             help="Measured: share of those requests where it chose the model the router routed to")
    c.metric("Predicted cost, router", usd(shadow["predicted_cost_usd"] or 0.0),
             help="Predicted by the router: mean cost per request of its choices")
    d.metric("Predicted cost, shadow", usd(shadow["shadow_predicted_cost_usd"] or 0.0),
             help="Predicted by the router in shadow: mean cost per request of its choices")
    if log_folder is None:
        return
    try:
        estimate, n = shadow_quality(log_folder)
    except RouterInputError as e:
        st.caption(f"No quality estimate yet: {escape_markdown(str(e))}. Send feedback (POST /v1/feedback) on answered "
                   "requests, and explore (serve --explore) so the log covers the shadow's other choices.")
        return
    st.caption(f"Quality of the shadow's choices, estimated from the feedback on {n:,} requests it decided (doubly "
               f"robust): {estimate.dr.value:.3f} (95% interval {estimate.dr.low:.3f} to {estimate.dr.high:.3f}), against "
               f"{estimate.logged_quality:.3f} measured by feedback on what was routed. The log supports its choice on "
               f"{estimate.support:.0%} of them. Promote it with PUT /admin/router {{\"shadow\": true}}.")


panels()
