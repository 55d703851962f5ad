"""Pareto explorer: the router's measured quality/cost curve over λ against every baseline, on a labelled set."""
import hashlib
import io

import pandas as pd
import streamlit as st

from router_core import RouterInputError
from router_core.dashboard_views.figures import (
    as_text,
    escape_markdown,
    mix_figure,
    pareto_figure,
    single_models,
)
from router_core.dashboard_views.uploads import LABELLED_HINT, check_upload_size
from router_core.data.labelled import load_labelled
from router_core.evaluation.baselines import DESCRIPTIONS
from router_core.evaluation.comparison import ROUTER_ROW, evaluate_router
from router_core.evaluation.standing import (
    best_baseline,
    display_name,
    standing_sentence,
)
from router_core.policy.curves import (
    category_breakdown,
    curve_from_scores,
    default_lams,
    soft_curve,
)
from router_core.units import usd

router, catalog, key = st.session_state["router"], st.session_state["catalog"], st.session_state["catalog_key"]
policy = router.policy("linear")


@st.cache_resource(show_spinner=False, max_entries=4)
def uploaded_evaluation(digest: str, router_id: str, catalog_hash: str, _data, _router, _catalog):
    return evaluate_router(_router, _data, catalog=_catalog)


st.title("Pareto explorer")
upload = st.file_uploader("Labelled set (CSV, JSONL or Parquet; long format: query_id, query, model, quality, cost_usd or tokens)",
                          type=["csv", "jsonl", "json", "parquet"])
try:
    if upload is None:
        job = st.session_state["sample_evaluation_job"](router.id, key(catalog), router, catalog)
        evaluation = st.session_state["wait_for"](job, "Measuring the router and every baseline on the sample set (the "
                                                       "shipped measurement covers the sample router at any prices)")
        source = "the bundled sample set"
    else:
        parsed = st.session_state.get("pareto_upload")  # parsed once per file: a λ move must not read it again
        if parsed is None or parsed[0] != (upload.file_id, key(router.catalog)):
            check_upload_size(upload.name, upload.size, hint=LABELLED_HINT)
            raw = upload.getvalue()
            parsed = ((upload.file_id, key(router.catalog)), hashlib.sha1(raw).hexdigest(),
                      load_labelled(io.BytesIO(raw), router.catalog, missing="drop", name=upload.name))
            st.session_state["pareto_upload"] = parsed
        _, digest, data = parsed
        if len(data.dropped):
            st.warning(f"{len(data.dropped)} queries lack some model and were left out.")
            st.download_button("Download the left-out queries (CSV)", data.dropped.to_csv(index=False), "left_out.csv")
        with st.spinner(f"Encoding {len(data)} queries and fitting the baselines…"):
            evaluation = uploaded_evaluation(digest, router.id, key(catalog), data, router, catalog)
        source = escape_markdown(upload.name)
except RouterInputError as e:
    st.error(escape_markdown(e))
    st.stop()

n_test = len(evaluation.test)
st.caption(f"Measured on {n_test} held-out labelled queries of {source} (baselines fitted on the other {evaluation.n_train}). "
           "Quality and cost are the labelled outcomes of the model each router picks, not predictions.")
if evaluation.unscored:
    st.warning(f"{source} has no labels for {', '.join(map(escape_markdown, evaluation.unscored))}, so here the router "
               f"chooses among the {len(evaluation.test.candidates)} models it has labels for. Upload a labelled set "
               "that includes the added model to measure it.")
st.info(escape_markdown(standing_sentence(evaluation.table, evaluation.curves, ROUTER_ROW)))
# A keyed slider keeps its identity across reruns (a changing `value` would make a new widget and drop the
# next move); the page-independent "lam" carries λ from one page to the other.
st.session_state.setdefault("lam_pareto_widget", st.session_state.get("lam", 0.2))
lam = st.slider("λ (0 = quality first, 1 = cost first)", 0.0, 1.0, step=0.05, key="lam_pareto_widget")
st.session_state["lam"] = lam
show_soft = st.checkbox("Show soft routing (top-2 + aggregator, quality as an estimated band)")

scores, data = evaluation.scores, evaluation.test
point = curve_from_scores(scores.quality, scores.cost, data, [lam], policy, scores.weights).iloc[0]
single = single_models(data)
single_quality, single_cost = single["quality"], single["cost"]
best = single_quality.idxmax()
best_name = escape_markdown(best)
a, b, c = st.columns(3)
cost_change, quality_change = point["cost"] / single_cost[best] - 1, point["quality"] - single_quality[best]
a.metric("Mean cost at this λ, per 1,000 requests", usd(1000 * point["cost"]),
         f"{cost_change:+.0%} vs {best_name}" if abs(cost_change) >= 0.005 else f"same as {best_name}",
         delta_color="inverse" if abs(cost_change) >= 0.005 else "off", delta_arrow="auto" if abs(cost_change) >= 0.005 else "off",
         help=f"Measured: the mean USD per request on the {n_test} held-out queries, times 1,000")
b.metric("Mean quality at this λ", f"{point['quality']:.3f}",
         f"{quality_change:+.3f} vs {best_name}" if abs(quality_change) >= 0.0005 else f"same as {best_name}",
         delta_color="normal" if abs(quality_change) >= 0.0005 else "off",
         delta_arrow="auto" if abs(quality_change) >= 0.0005 else "off",
         help=f"Measured: mean labelled quality on the {n_test} held-out queries")
c.metric("Best single model", best_name, f"quality {single_quality[best]:.3f} at {usd(1000 * single_cost[best])} per 1,000",
         delta_color="off", delta_arrow="off", help="Measured on the same held-out queries: the single model with the highest mean quality")

soft = None
if show_soft and catalog is None:
    st.info("Soft routing needs a catalog with prices for the aggregator; this router has none.")
elif show_soft:
    aggregator = catalog.aggregator_entry
    soft = soft_curve(scores.quality, scores.cost, data, default_lams(41), policy, 2, data.candidates.index(aggregator.name),
                      (aggregator.input_usd_per_1m, aggregator.output_usd_per_1m), aggregator.typical_output_tokens)
show_every = st.toggle("Show every baseline", help="Otherwise: the router, the best baseline by AIQ, the single models, "
                       "the oracle and random choice")
figure = pareto_figure(evaluation.curves, lam, soft=soft, highlight=(point["cost"], point["quality"]),
                       best_baseline=best_baseline(evaluation.table, ROUTER_ROW), show_all=show_every)
st.plotly_chart(figure, width="stretch")

left, right = st.columns([3, 2])
with left:
    st.subheader("Routing quality")
    st.caption("AIQ: area under the quality/cost hull between the cheapest and dearest single model, per unit of cost range "
               "(higher is better). Cost at best-single quality: fraction of the best model's cost needed to match it.")
    # Not "quality at the cheapest model's cost": every curve ends on the cheapest model at λ = 1, so it is the same
    # number in every row.
    headers = {"aiq": "AIQ", "max_quality": "Best quality", "cost_at_best_single": "Cost to match best", "apgr": "APGR"}
    shown = evaluation.table[[c for c in headers if c in evaluation.table]].astype(float).sort_values("aiq", ascending=False)
    shown = shown.rename(index=display_name, columns=headers)
    shown.index.name = "router"
    formats = {h: "{:.3f}" for h in shown.columns} | {"Cost to match best": "{:.0%}"}
    st.dataframe(as_text(shown, formats, missing="never"), width="stretch")
    st.caption("“never”: the curve does not reach the best single model's quality (cost to match).")
    with st.expander("What each row is"):
        st.markdown("\n".join(f"- **{name}**: {text}" for name, text in DESCRIPTIONS.items()))
with right:
    shares = pd.Series({n: point[f"share_{n}"] for n in data.candidates})
    st.plotly_chart(mix_figure(shares, f"Model mix at λ = {lam:.2f} (measured on {n_test} queries)"), width="stretch")

if data.categories is not None:
    st.subheader(f"Per category at λ = {lam:.2f}")
    breakdown = category_breakdown(scores.quality, scores.cost, data, lam, policy, scores.weights)
    shares = [c for c in breakdown.columns if c.startswith("share_")]
    breakdown = breakdown.rename(columns={"n": "queries", "quality": "quality (routed)", "cost": "cost per 1,000 requests",
                                          "best_single": "best single model", "best_single_quality": "its quality",
                                          **{c: c.removeprefix("share_") for c in shares}})
    breakdown["cost per 1,000 requests"] *= 1000
    st.caption("Measured on the held-out queries of each category; the model columns are the share of its queries "
               "each model gets at this λ.")
    formats = {"quality (routed)": "{:.3f}", "its quality": "{:.3f}", "cost per 1,000 requests": "${:.2f}",
               **{c.removeprefix("share_"): "{:.0%}" for c in shares}}
    st.dataframe(as_text(breakdown, formats), hide_index=True, width="stretch")

curves = pd.concat([curve.assign(router=name) for name, curve in evaluation.curves.items()], ignore_index=True)
d1, d2 = st.columns(2)
d1.download_button("Download the curves (CSV)", curves.to_csv(index=False), "pareto_curves.csv", "text/csv")
d2.download_button("Download the chart (HTML)", lambda: figure.to_html(include_plotlyjs=True), "pareto_chart.html", "text/html",
                   help="One self-contained file: plotly is inside, so it opens offline")
