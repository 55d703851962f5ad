"""Schedule simulator: replay a request log under a time-of-day λ schedule; cost, predicted quality and model mix."""
import hashlib
import io
import zoneinfo
from pathlib import Path

import streamlit as st

from router_core import RouterInputError
from router_core.dashboard_views.figures import (
    as_text,
    controller_lambda_figure,
    escape_markdown,
    hourly_figure,
    lam_by_hour_figure,
    mix_figure,
    schedule_table,
)
from router_core.dashboard_views.uploads import check_upload_size
from router_core.data.request_log import LOG_ALIASES, match_log_columns
from router_core.data.tables import read_table
from router_core.live.policy import Budget, LambdaPolicy, read_policy
from router_core.live.schedule import Schedule
from router_core.traffic.log_scoring import is_scored_log, scored_log_identity
from router_core.traffic.replay import fit_constant_lam, replay
from router_core.traffic.report import (
    better_constant,
    by_group,
    calibration_factors,
    constant_frontier,
    suggested_budget_text,
    suggested_daily_budget,
)
from router_core.traffic.simulate import calibrate, prepare_log, simulate
from router_core.units import spend_change, usd

router, catalog, key = st.session_state["router"], st.session_state["catalog"], st.session_state["catalog_key"]
policy = router.policy("linear")
CONTROLLER = "Budget controller (as the server runs it)"
PRESETS = ["Business hours (seed)", "Constant λ", "Fit a daily budget", CONTROLLER, "Custom (edit the table)"]
COMPARED = (0.0, 0.2, 0.5, 1.0)  # constant-λ schedules shown beside the chosen one
TIMEZONES = ["UTC", *sorted(zoneinfo.available_timezones() - {"UTC"})]


def once_per_upload(cache_key: tuple, compute):
    """Kept per session by file, router, prices and mapping, so schedule edits never re-score or re-read."""
    cache = st.session_state.setdefault("scored_uploads", {})
    if cache_key not in cache:
        cache.clear()  # one uploaded log at a time is plenty per session
        cache[cache_key] = compute()
    return cache[cache_key]


def score_upload(log, name: str, mapping: dict | None = None):
    bar = st.progress(0.0, text="Scoring the log's distinct prompts (once; schedule edits reuse the scores)…")
    try:
        return prepare_log(router, log, catalog, mapping, progress=lambda done, total: bar.progress(done / max(total, 1)),
                           name=name)
    finally:
        bar.empty()  # gone on an error too: the error replaces it, never sits under it


def show_controller(prepared, budget: float, timezone: str) -> None:
    """The server's budget controller replayed on this log minute by minute, beside the constant λ fitted offline."""
    result = replay(prepared.scored, LambdaPolicy(budget=Budget(budget), timezone=timezone), policy)
    days = result.days()
    try:
        constant = fit_constant_lam(prepared.scored, budget, policy)
    except RouterInputError:
        constant = None
    reachable = days[days.hindsight_lam > 0]
    a, b, c = st.columns(3)
    a.metric("Days within ±5% of the budget", f"{int((reachable.spend_vs_budget.abs() <= 0.05).sum())} of {len(reachable)}",
             help="Days the budget can be reached at all (the best constant λ in hindsight is above 0); spend charged at "
                  "the log's measured cost where it called the chosen model, else predicted")
    b.metric("Quality against the best constant λ per day", f"{days.quality_vs_hindsight.min():.1%} (lowest day)",
             help="Predicted quality of the controller's choices ÷ that of the best constant λ chosen in hindsight for each day")
    c.metric("Constant λ fitted offline", f"{constant:.3f}" if constant is not None else "none fits",
             help="The lowest constant λ whose spend per day over the whole log fits the budget (the 'Fit a daily budget' "
                  "preset); spend charged as in the table below")
    st.caption("The controller recomputes λ every simulated minute from the spend so far today, the time left and the "
               "traffic it expects (learned from the days before), as the server does with `budget: {daily_usd: …}`.")
    st.plotly_chart(controller_lambda_figure(result.requests, constant, timezone), width="stretch")
    shown = days.rename(columns={"spend_usd": "spend", "spend_vs_budget": "spend vs budget", "quality": "quality (predicted)",
                                 "mean_lam": "mean λ", "hindsight_lam": "best constant λ", "hindsight_quality": "its quality",
                                 "quality_vs_hindsight": "quality vs it", "budget_usd": "budget",
                                 "hindsight_spend_usd": "its spend"})
    st.dataframe(as_text(shown, {"spend": "${:.2f}", "budget": "${:.2f}", "spend vs budget": "{:+.1%}", "quality (predicted)": "{:.3f}",
                                 "mean λ": "{:.2f}", "best constant λ": "{:.2f}", "its quality": "{:.3f}", "quality vs it": "{:.1%}",
                                 "its spend": "${:.2f}"}), hide_index=True, width="stretch")
    st.download_button("Download the controller's λ trace (CSV)", result.trace.to_csv(index=False), "controller_trace.csv", "text/csv")
    st.download_button("Export this policy (YAML)", result.policy.to_yaml(), "policy.yaml", "application/yaml",
                       help="`serve --lambda-policy policy.yaml` runs this controller; `replay --policy` replays it")


def column_mapping(frame) -> dict:
    """The fields the user mapped by hand; the rest are matched by name."""
    mapping = {}
    auto = match_log_columns(frame.columns)
    with st.expander("Column mapping", expanded=not {"timestamp", "prompt"} <= set(auto)):
        st.caption("Matched automatically by common names; change any field here.")
        options = ["(none)"] + [str(c) for c in frame.columns]
        for field in LOG_ALIASES:
            chosen = st.selectbox(field, options, options.index(auto[field]) if field in auto else 0, key=f"map_{field}")
            if chosen != "(none)":
                mapping[field] = chosen
    return mapping


st.title("Schedule simulator")
upload = st.file_uploader("Request log (CSV, JSONL or Parquet: a timestamp and a prompt per row; LiteLLM spend logs and "
                          "OpenAI `messages` work), or a Parquet file `python -m router_core score-log` wrote for a log too big "
                          "for the browser", type=["csv", "jsonl", "json", "parquet"])
scored_path = st.text_input("…or the path of a scored log on this machine (`score-log --out`: a Parquet file or a folder of "
                            "parts from `--engine ray`), read in batches, never whole",
                            help="For a log too big to upload: score it with `python -m router_core score-log` (on Ray "
                                 "for many files), then open the result here; it replaces the upload above.").strip()
try:
    if scored_path:
        path = Path(scored_path).expanduser()
        if not is_scored_log(path):
            raise RouterInputError(f"{scored_path}: not a scored log (a Parquet file or folder written by `score-log --out`)")
        prepared = once_per_upload((scored_log_identity(path), router.id, key(catalog)),
                                   lambda: prepare_log(router, path, catalog, name=path.name))
    elif upload is None:
        job = st.session_state["sample_log_job"](router.id, key(catalog), router, catalog)
        prepared = st.session_state["wait_for"](job, "Scoring the bundled two-week log with this router (the shipped "
                                                     "scores cover the sample router)")
    else:
        read = st.session_state.get("schedule_upload")  # read once per file: a schedule edit must not read it again
        if read is None or read[0] != upload.file_id:
            raw = upload.getvalue()
            if is_scored_log(raw):
                read = (upload.file_id, hashlib.sha1(raw).hexdigest(), raw, None)
            else:
                check_upload_size(upload.name, upload.size)  # a score-log Parquet file is compact; a raw log is parsed whole
                read = (upload.file_id, hashlib.sha1(raw).hexdigest(), None, read_table(io.BytesIO(raw), upload.name))
            st.session_state["schedule_upload"] = read
        _, digest, scored_raw, frame = read
        if frame is None:
            prepared = once_per_upload((digest, router.id, key(catalog)),
                                       lambda: prepare_log(router, scored_raw, catalog, name=upload.name))
        else:
            mapping = column_mapping(frame)
            prepared = once_per_upload((digest, router.id, key(catalog), repr(sorted(mapping.items()))),
                                       lambda: score_upload(frame, upload.name, mapping))
except RouterInputError as e:
    st.error(escape_markdown(e))
    st.stop()

calibrate_on = False
if calibration_factors(prepared.scored) is not None:
    calibrate_on = st.toggle("Calibrate predicted costs to this log", value=True,
                             help="Multiply each model's predicted cost by what this log measured ÷ what the router "
                                  "predicted for the same calls (the log's own factor where a model has fewer than 10 "
                                  "calls), so savings against the logged spend do not count the prediction gap as saved")
calibrated_log = st.session_state.get("calibrated_log")
if calibrated_log is None or calibrated_log[0] is not prepared or calibrated_log[1] != calibrate_on:
    calibrated_log = (prepared, calibrate_on, calibrate(prepared, calibrate_on))
    st.session_state["calibrated_log"] = calibrated_log  # one object per log and setting: later caches key on it
prepared = calibrated_log[2]
st.caption(f"{prepared.n_requests:,} requests from {escape_markdown(prepared.source)} over {prepared.scored.n_days:.0f} days; "
           f"{prepared.n_prompts:,} distinct prompts scored. Costs and quality below are **predicted by the router** "
           + ("and its costs **calibrated to what this log measured**" if prepared.calibration else "")
           + " for that traffic; the logged spend is measured.")
if prepared.n_rejected and prepared.rejected is None:
    st.warning(f"{prepared.n_rejected:,} rows of the original log could not be used when it was scored "
               f"({escape_markdown(prepared.rejection_summary)}); `score-log --rejected FILE` lists them.")
elif prepared.n_rejected:
    st.warning(f"{prepared.n_rejected:,} rows could not be used: {escape_markdown(prepared.rejection_summary)}.")
    st.download_button("Download the unusable rows (CSV)", prepared.rejected.to_csv(index=False), "unusable_rows.csv", "text/csv")

preset_column, zone_column = st.columns([2, 1])
with zone_column:
    timezone = st.selectbox("Time zone of the schedule's hours", TIMEZONES, help="Log times are stored in UTC; a "
                            "schedule's 09:00 is 09:00 on these clocks (daylight saving included)")
with preset_column:
    preset = st.selectbox("Preset", PRESETS)
try:
    if preset == "Business hours (seed)":
        schedule = Schedule.business_hours()
    elif preset == "Constant λ":
        schedule = Schedule.constant(st.slider("λ for every hour (0 = quality first, 1 = cost first)", 0.0, 1.0, 0.3, 0.05))
    elif preset == "Fit a daily budget":
        budget = st.number_input("Daily budget (USD)", min_value=0.0, value=suggested_daily_budget(prepared.scored), step=0.1,
                                 format="%.2f", help=suggested_budget_text(prepared.scored))
        fitted = fit_constant_lam(prepared.scored, budget, policy)
        schedule = Schedule.constant(fitted)
        st.success(f"λ = {fitted:.3f} is the most quality this traffic gets within {usd(budget)} per day (spend charged at "
                   "the log's measured cost where it called the chosen model, else predicted).")
    elif preset == CONTROLLER:
        budget = st.number_input("Daily budget (USD)", min_value=0.01, value=max(0.01, suggested_daily_budget(prepared.scored)),
                                 step=0.1, format="%.2f", help=suggested_budget_text(prepared.scored))
        show_controller(prepared, budget, timezone)
        st.stop()
    else:
        imported = st.file_uploader("Import a λ policy (a YAML file exported here, or a constant or schedule policy)",
                                    type=["yaml", "yml"], key="schedule_yaml")
        if imported is not None and st.session_state.get("schedule_yaml_seen") != imported.file_id:
            check_upload_size(imported.name, imported.size, hint="a schedule is a few lines; check that this is the file")
            imported_policy = read_policy(imported.getvalue(), imported.name)
            if imported_policy.kind not in ("lambda", "schedule"):
                raise RouterInputError(f"{imported.name}: a {imported_policy.kind.replace('_', ' ')} policy has no table to edit; "
                                       "choose the 'Fit a daily budget' or budget controller preset with its daily budget")
            loaded = (imported_policy.schedule if imported_policy.schedule is not None
                      else Schedule.constant(imported_policy.lam))
            st.session_state["custom_schedule"] = loaded
            st.session_state["schedule_yaml_seen"] = imported.file_id  # applied once; later edits are kept
            st.session_state["per_weekday"] = bool((loaded.table != loaded.table[0]).any())  # show every day it sets
            for editor in ("editor_False", "editor_True"):  # the tables show the imported values, not old edits
                st.session_state.pop(editor, None)
        per_weekday = st.toggle("Different λ per weekday", key="per_weekday")
        start = st.session_state.get("custom_schedule", Schedule.business_hours())
        view = start.to_frame() if per_weekday else start.to_frame()[["Mon"]].rename(columns={"Mon": "λ"})
        edited = st.data_editor(view, width="content", height=880, key=f"editor_{per_weekday}",
                                column_config={c: st.column_config.NumberColumn(c, min_value=0.0, max_value=1.0, step=0.05) for c in view.columns})
        schedule = Schedule.from_frame(edited, "custom")
        st.session_state["custom_schedule"] = schedule
except RouterInputError as e:
    st.error(escape_markdown(e))
    st.stop()

st.download_button("Export this policy (YAML)", LambdaPolicy(schedule=schedule, timezone=timezone).to_yaml(), "policy.yaml",
                   "application/yaml", help="`serve --lambda-policy policy.yaml` follows it; import it again under "
                                        "'Custom (edit the table)'")
report = simulate(router, prepared, schedule, policy=policy, timezone=timezone)
result = report.totals
best_name = escape_markdown(result["best_model"])
a, b, c, d = st.columns(4)
a.metric("Projected monthly cost", usd(result["monthly_cost_usd"]), help="Predicted: the log's daily cost under this schedule × 30.44 days")
if "logged_monthly_cost_usd" in result:
    b.metric("Savings vs the logged spend", usd(result["savings_vs_logged_usd"]), spend_change(result["savings_vs_logged_fraction"]),
             delta_color="inverse",
             help=f"Measured spend of the log ({usd(result['logged_monthly_cost_usd'])} per month, "
                  f"{usd(result['logged_cost_per_1k_requests_usd'])} per 1,000 requests) minus this schedule's predicted cost")
    d.metric(f"Savings vs everything to {best_name}", usd(result["savings_vs_best_usd"]), spend_change(result["savings_vs_best_fraction"]),
             delta_color="inverse",
             help="Both predicted, per month")
else:
    b.metric(f"Savings vs everything to {best_name}", usd(result["savings_vs_best_usd"]), spend_change(result["savings_vs_best_fraction"]),
             delta_color="inverse",
             help="Both predicted, per month; the log records no costs to compare with")
c.metric("Predicted quality", f"{result['predicted_quality']:.3f}", f"{result['predicted_quality_change']:+.3f} vs all to {best_name}")
per_thousand = f"Per 1,000 requests: {usd(result['cost_per_1k_requests_usd'])} under this schedule (predicted)"
if "logged_cost_per_1k_requests_usd" in result:
    per_thousand += f", {usd(result['logged_cost_per_1k_requests_usd'])} as logged (measured)"
st.caption(per_thousand + ".")
calibration = report.cost_calibration
if calibration is not None:
    applied = (" Calibration multiplies each model's predicted cost by: " + ", ".join(
        f"{escape_markdown(name)} ×{factor:.2f}" for name, factor in report.calibration.items())
               + ", so savings compare like with like." if report.calibration else
               " Calibration is off: savings against the logged spend include that gap.")
    st.caption(f"Cost calibration on the {calibration['requests']:,} logged requests whose model is a candidate: the log "
               f"measured {usd(calibration['measured_usd'])} where the router predicts {usd(calibration['predicted_usd'])} "
               f"for the same calls (measured ÷ predicted = {calibration['ratio']:.2f})." + applied)
# What constant λ gives on this log does not depend on the schedule being edited: computed once per log, prices and zone.
references = st.session_state.get("constant_references")
if references is None or references[0] is not prepared or references[1] != (router.id, key(catalog), timezone):
    references = (prepared, (router.id, key(catalog), timezone), constant_frontier(prepared.scored, policy),
                  {lam: simulate(router, prepared, f"constant:{lam}", policy=policy, timezone=timezone) for lam in COMPARED})
    st.session_state["constant_references"] = references  # holds the log, so its identity is never reused
_, _, frontier, constant = references
beaten = better_constant(prepared.scored, policy, result["cost_per_day_usd"], result["predicted_quality"], frontier=frontier)
if beaten is not None:
    st.info(f"A constant λ = {beaten['lam']:.2f} is predicted to do better than this schedule on this traffic: quality "
            f"{beaten['predicted_quality']:.3f} instead of {result['predicted_quality']:.3f} at "
            f"{usd(beaten['cost_per_day_usd'])} per day instead of {usd(result['cost_per_day_usd'])}.")
st.plotly_chart(lam_by_hour_figure(report.by_hour, timezone), width="stretch")

alternatives = {f"constant λ={lam:g}": constant[lam].by_hour for lam in (0.0, 1.0)}
st.plotly_chart(hourly_figure(report.by_hour, alternatives, report.logged_cost_by_hour, timezone), width="stretch")

left, right = st.columns([3, 2])
left.dataframe(schedule_table({"this schedule": report, **{f"constant λ={lam:g}": r for lam, r in constant.items()}}),
               hide_index=True, width="stretch")
right.plotly_chart(mix_figure(report.model_mix, "Model mix under this schedule (predicted)"), width="stretch")
if report.logged_model_mix is not None:
    st.caption("Logged model mix (measured): " + ", ".join(f"{escape_markdown(m)} {s:.0%}" for m, s in report.logged_model_mix.items()))

groups = [g for g in ("team", "user") if g in report.requests]
if groups:
    st.subheader("Per team or user")
    group = st.radio("Break down by", groups, horizontal=True, label_visibility="collapsed")
    table = by_group(report.requests, group, prepared.scored.n_days)
    st.caption(f"Each {group} of the log under this schedule: predicted cost and quality; the logged spend is measured.")
    st.dataframe(as_text(table.reset_index(), {"monthly cost (predicted)": "${:,.2f}", "quality (predicted)": "{:.3f}",
                                              "logged spend per month (measured)": "${:,.2f}",
                                              "saving per month": "${:,.2f}"}), hide_index=True, width="stretch")

st.subheader("Per day")
by_day = report.by_day.rename(columns={"predicted_cost_usd": "cost (predicted)", "predicted_quality": "quality (predicted)",
                                       "mean_lam": "mean λ", **{c: c.removeprefix("share_") for c in report.by_day.columns
                                                                 if c.startswith("share_")}})
st.caption(f"Per calendar day ({timezone}); the model columns are each model's share of that day's requests (predicted).")
st.dataframe(as_text(by_day, {"cost (predicted)": "${:.2f}", "quality (predicted)": "{:.3f}", "mean λ": "{:.2f}",
                              **{c.removeprefix("share_"): "{:.0%}" for c in report.by_day.columns if c.startswith("share_")}}),
             width="stretch")
st.download_button("Download the per-hour result (CSV)", report.by_hour.to_csv(), "schedule_per_hour.csv", "text/csv")
