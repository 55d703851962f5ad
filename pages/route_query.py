"""Route one typed query and show the decision with per-model predictions."""
import pandas as pd
import streamlit as st

from router_core import RouterInputError

router = st.session_state["router"]
st.title("Route a query")
query = st.text_area("Query", "Write a Python function that merges two sorted lists")
lam = st.slider("λ (0 = quality first, 1 = cost first)", 0.0, 1.0, 0.2, 0.05)
try:
    decision = router.route(query, lam)[0]
except RouterInputError as e:
    st.error(str(e))
    st.stop()
st.metric("Chosen model", decision.candidate)
st.caption("Predicted by the router, not measured.")
table = pd.DataFrame(decision.per_candidate).T.rename(columns=lambda c: c.replace("_", " "))
st.dataframe(table, width="stretch")
