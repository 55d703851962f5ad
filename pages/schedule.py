"""Schedule simulator: replay a request log under a time-of-day λ schedule; cost, predicted quality and model mix."""
import hashlib
import io

import pandas as pd
import streamlit as st

from router_core import RouterInputError
from router_core.data import LOG_ALIASES, match_log_columns, read_table, request_log_from_frame
from router_core.log_scoring import is_scored_log, read_scored_log
from router_core.schedule import (Schedule, fit_daily_budget, logged_cost_by_hour, replay, scored_log, summarise,
                                  totals, usd)
from router_core.views import hourly_figure, mix_figure

if "router" not in st.session_state:  # opened by its URL before the app ever ran: start at the frame, come back
    st.session_state["resume_page"] = "schedule"
    st.switch_page("dashboard.py")
router, catalog, key = st.session_state["router"], st.session_state["catalog"], st.session_state["catalog_key"]
PRESETS = ["Business hours (seed)", "Constant λ", "Fit a daily budget", "Custom (edit the table)"]


def once_per_upload(cache_key: tuple, compute):
    """Kept per session by file, router, prices and mapping, so schedule edits never re-score or re-read."""
    cache = st.session_state.setdefault("scored_uploads", {})
    if cache_key not in cache:
        cache.clear()  # one uploaded log at a time is plenty per session
        cache[cache_key] = compute()
    return cache[cache_key]


def score_upload(frame):
    bar = st.progress(0.0, text="Scoring the log's distinct prompts (once; schedule edits reuse the scores)…")
    scored = scored_log(frame, router, catalog=catalog, progress=lambda done, total: bar.progress(done / max(total, 1)))
    bar.empty()
    return scored


st.title("Schedule simulator")
upload = st.file_uploader("Request log (CSV, JSONL or Parquet: a timestamp and a prompt per row; LiteLLM spend logs and "
                          "OpenAI `messages` work), or a Parquet file `python -m router_core score-log` wrote for a log too big "
                          "for the browser", type=["csv", "jsonl", "json", "parquet"])
pre_scored = None
try:
    if upload is None:
        with st.spinner("Scoring the bundled two-week log (first visit only)…"):
            log, scored = st.session_state["sample_log_job"](router.router_id, key(catalog), router, catalog).result()
        source = "the bundled two-week sample log"
    elif is_scored_log(raw := upload.getvalue()):
        scored, pre_scored = once_per_upload((hashlib.sha1(raw).hexdigest(), router.router_id, key(catalog)),
                                             lambda: read_scored_log(io.BytesIO(raw), router, catalog, name=upload.name))
        log, source = None, f"{upload.name} (scored by `score-log` from {pre_scored['source']})"
    else:
        frame = read_table(io.BytesIO(raw), upload.name)
        mapping = {}
        with st.expander("Column mapping", expanded=not {"timestamp", "prompt"} <= set(match_log_columns(frame.columns))):
            st.caption("Matched automatically by common names; change any field here.")
            options = ["(none)"] + [str(c) for c in frame.columns]
            auto = match_log_columns(frame.columns)
            for field in LOG_ALIASES:
                chosen = st.selectbox(field, options, options.index(auto[field]) if field in auto else 0, key=f"map_{field}")
                if chosen != "(none)":
                    mapping[field] = chosen
        log = request_log_from_frame(frame, mapping, source=upload.name)
        scored = once_per_upload((hashlib.sha1(raw).hexdigest(), router.router_id, key(catalog), repr(sorted(mapping.items()))),
                                 lambda: score_upload(log.frame))
        source = upload.name
except RouterInputError as e:
    st.error(str(e))
    st.stop()

st.caption(f"{len(scored.timestamps):,} requests from {source} over {scored.n_days:.0f} days; "
           f"{len(scored.quality):,} distinct prompts scored. Costs and quality below are **predicted by the router** "
           "for that traffic; the logged spend is measured.")
if pre_scored and pre_scored.get("rejected"):
    st.warning(f"{pre_scored['rejected']:,} rows of the original log could not be used when it was scored "
               f"(first, {pre_scored['first_rejection']}); `score-log --rejected FILE` lists them.")
if log is not None and len(log.rejected):
    st.warning(f"{len(log.rejected)} rows could not be used (first reason: {log.rejected['reason'].iloc[0]}).")
    st.download_button("Download the unusable rows (CSV)", log.rejected.to_csv(index=False), "unusable_rows.csv", "text/csv")

preset = st.selectbox("Preset", PRESETS)
if preset == "Business hours (seed)":
    schedule = Schedule.business_hours()
elif preset == "Constant λ":
    schedule = Schedule.constant(st.slider("λ for every hour (0 = quality first, 1 = cost first)", 0.0, 1.0, 0.3, 0.05))
elif preset == "Fit a daily budget":
    budget = st.number_input("Daily budget (USD)", min_value=0.0, value=round(scored.cost.max(axis=1)[scored.prompt_index].sum() / scored.n_days / 3, 2),
                             step=0.1, format="%.2f")
    try:
        level = fit_daily_budget(scored, budget)
    except RouterInputError as e:
        st.error(str(e))
        st.stop()
    st.success(f"λ = {level:.3f} is the most quality this traffic gets within {usd(budget)} per day (predicted).")
    schedule = Schedule.constant(round(level, 3))
else:
    per_weekday = st.toggle("Different λ per weekday")
    start = st.session_state.get("custom_schedule", Schedule.business_hours())
    view = start.to_frame() if per_weekday else start.to_frame()[["Mon"]].rename(columns={"Mon": "λ"})
    edited = st.data_editor(view, width="content", height=880, key=f"editor_{per_weekday}",
                            column_config={c: st.column_config.NumberColumn(c, min_value=0.0, max_value=1.0, step=0.05) for c in view.columns})
    try:
        schedule = Schedule.from_frame(edited, "custom")
    except RouterInputError as e:
        st.error(str(e))
        st.stop()
    st.session_state["custom_schedule"] = schedule

requests = replay(scored, schedule)
result = totals(scored, requests)
a, b, c, d = st.columns(4)
a.metric("Projected monthly cost", usd(result["monthly_cost_usd"]), help="Predicted: the log's daily cost under this schedule × 30.44 days")
b.metric(f"Savings vs everything to {result['best_model']}", usd(result["savings_vs_best_usd"]),
         f"{result['savings_vs_best_fraction']:.0%} less", help="Predicted, per month")
c.metric("Predicted quality", f"{result['predicted_quality']:.3f}", f"{result['predicted_quality_change']:+.3f} vs all to {result['best_model']}")
if "logged_monthly_cost_usd" in result:
    d.metric("Logged spend, per month", usd(result["logged_monthly_cost_usd"]), help="Measured: the cost column of the log, scaled to a month")

by_hour = summarise(requests, "hour")
# Each constant-λ replay runs once and serves both the chart and the table.
constant = {lam: replay(scored, Schedule.constant(lam)) for lam in (0.0, 0.2, 0.5, 1.0)}
alternatives = {f"constant λ={lam:g}": summarise(constant[lam], "hour") for lam in (0.0, 1.0)}
st.plotly_chart(hourly_figure(by_hour, alternatives, logged_cost_by_hour(scored)), width="stretch")

rows = []
for name, t in [("this schedule", result)] + [(f"constant λ={lam:g}", totals(scored, routed)) for lam, routed in constant.items()]:
    rows.append({"schedule": name, "monthly cost (predicted)": usd(t["monthly_cost_usd"]), "predicted quality": round(t["predicted_quality"], 3),
                 f"savings vs all to {t['best_model']}": f"{t['savings_vs_best_fraction']:.0%}"})
if "logged_monthly_cost_usd" in result:
    rows.append({"schedule": "as logged (measured)", "monthly cost (predicted)": usd(result["logged_monthly_cost_usd"]) + " (measured)",
                 "predicted quality": None, f"savings vs all to {result['best_model']}": None})
left, right = st.columns([3, 2])
left.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
shares = requests["model"].value_counts(normalize=True).reindex(scored.candidates, fill_value=0.0)
right.plotly_chart(mix_figure(shares, "Model mix under this schedule (predicted)"), width="stretch")
if scored.logged_model is not None:
    st.caption("Logged model mix (measured): " + ", ".join(f"{m} {s:.0%}" for m, s in scored.logged_model.value_counts(normalize=True).items()))

st.subheader("Per day")
st.dataframe(summarise(requests, "day").style.format(precision=3).format({"predicted_cost_usd": "${:.4f}"}), width="stretch")
st.download_button("Download the per-hour result (CSV)", by_hour.to_csv(), "schedule_per_hour.csv", "text/csv")
