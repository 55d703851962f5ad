"""Route a query: the decision, per-model predictions, the token × model attention and a plain-language why."""
import streamlit as st

from router_core import RouterInputError
from router_core.dashboard_views.explain import informative_words, why, word_attention
from router_core.dashboard_views.figures import (
    attention_heatmap,
    decision_table,
    escape_markdown,
    prediction_bars,
)
from router_core.policy.rule import POLICIES

EXAMPLES = ["Write a Python function that merges two sorted lists",
            "Prove that the square root of 2 is irrational, step by step",
            "hey! how was your weekend lol",
            "Summarise this in one sentence: The meeting moved to Thursday because the vendor was late.",
            "Extract every date and amount from: Invoice 42, due 3 March 2026, total $1,250.00"]

router, catalog = st.session_state["router"], st.session_state["catalog"]
st.title("Route a query")
st.caption("Every figure on this page is **predicted by the router** for this one query; nothing here is measured.")
example = st.pills("Examples", EXAMPLES, selection_mode="single", key="route_example")
query = st.text_area("Query", example or EXAMPLES[0], height=100)
left, middle, right = st.columns([3, 2, 1])
# A keyed slider keeps its identity across reruns (a changing `value` would make a new widget and drop the
# next move); the page-independent "lam" carries λ from one page to the other.
st.session_state.setdefault("lam_route_widget", st.session_state.get("lam", 0.2))
lam = left.slider("λ (0 = quality first, 1 = cost first)", 0.0, 1.0, step=0.05, key="lam_route_widget")
st.session_state["lam"] = lam
policy = middle.radio("Policy", POLICIES, horizontal=True, help="linear: (1−λ)·quality − λ·cost · paper: the seed formula "
                      "softmax(w − λ·softmax(cost)) · exponential: quality·exp(−α·λ·cost)")
k = right.number_input("Top-k (1 = hard routing)", 1, len(router.candidates), 1)

try:
    scores = router.scores(query, catalog=catalog)
    decision = router.decide(scores, lam, int(k), router.policy(policy), catalog=catalog)[0]
except RouterInputError as e:
    st.error(escape_markdown(e))
    st.stop()

a, b, c = st.columns(3)
if len(decision.candidates) == 1:
    a.metric("Chosen model", escape_markdown(decision.candidate))
    c.metric("Predicted quality", f"{decision.predicted_quality_low:.2f}", help="Predicted by the router, 0–1")
else:
    a.metric("Soft routing: models called", f"{len(decision.candidates)} + aggregator",
             help="Called: " + ", ".join(map(escape_markdown, decision.candidates)) +
                  f"; merged by {escape_markdown(decision.aggregator)}")
    c.metric("Predicted quality (estimated band)", f"{decision.predicted_quality_low:.2f} – {decision.predicted_quality_high:.2f}",
             help="An estimate: weighted mean … best of the k answers; offline data has no merged answers")
b.metric("Predicted cost of this request", f"${decision.predicted_cost_usd:.6f}",
         help="USD at the current catalog prices: prompt tokens estimated from the text, answer length predicted")
if len(decision.candidates) > 1:
    single = min(decision.per_candidate[n]["predicted_cost_usd"] for n in decision.candidates)
    best = max(decision.per_candidate, key=lambda n: decision.per_candidate[n]["predicted_quality"])
    best_cost = decision.per_candidate[best]["predicted_cost_usd"]
    if decision.predicted_cost_usd > best_cost:
        st.warning(f"Soft routing is predicted to cost {decision.predicted_cost_usd / best_cost:.1f}× calling "
                   f"{escape_markdown(best)} alone, the model with the highest predicted quality; it pays only if the "
                   "merged answer beats that model's, which offline data cannot show.")
    st.info(f"Soft routing: calls **{'**, **'.join(map(escape_markdown, decision.candidates))}**, then the aggregator "
            f"**{escape_markdown(decision.aggregator)}** merges the answers, "
            f"{decision.predicted_cost_usd / decision.per_candidate[decision.candidate]['predicted_cost_usd']:.1f}× the cost "
            f"of calling {escape_markdown(decision.candidate)} alone (cheapest called model ${single:.6f}).")
st.markdown(why(decision, format_name=escape_markdown))
st.caption("What decides: the utility (1 − λ)·predicted quality − λ·normalised predicted cost; the highest wins. The "
           "routing weight (attention averaged over the query's words) shows which model the words point to; it shapes "
           "each model's predictions but does not pick.")

st.plotly_chart(prediction_bars(decision), width="stretch")
st.subheader("Which words point to which model")
st.caption("Attention of each word (word pieces merged, spelled as typed) over the candidate models; rows sum to 1. "
           "The routing weight of a model is this column averaged over all tokens.")
words = word_attention(router.tokenizer, query, scores.attention[0], scores.candidates)
show_all = st.toggle("Show every token", help="[CLS]/[SEP], punctuation and, for a long query, the words that lean least")
every_word = informative_words(words, None)
shown = words if show_all else informative_words(words, 20)
if not show_all and len(shown) < len(every_word):
    st.caption(f"The {len(shown)} of {len(every_word)} words that lean hardest towards one model, in the order typed; "
               "[CLS], [SEP] and punctuation hidden.")
elif not show_all and len(shown) < len(words):
    st.caption("[CLS], [SEP] and punctuation hidden.")
st.plotly_chart(attention_heatmap(shown), width="stretch")
st.subheader("Estimated cost of this request per model")
st.dataframe(decision_table(decision), width="stretch")
