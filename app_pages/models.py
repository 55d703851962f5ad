"""Models and costs: edit prices (re-prices every page, no retraining), import LiteLLM prices, train a router, add a model."""
import io

import numpy as np
import pandas as pd
import streamlit as st

from router_core import Catalog, Router, RouterConfig, RouterInputError
from router_core.dashboard_views.figures import as_text, escape_markdown, predicted_curves_figure
from router_core.dashboard_views.uploads import LABELLED_HINT, check_upload_size
from router_core.data.catalog import Candidate, catalog_to_litellm_config, load_catalog
from router_core.data.labelled import load_labelled
from router_core.data.litellm_prices import checks_for, map_price, price_table
from router_core.onnx_export import with_onnx_head
from router_core.router_zip import router_from_zip, router_zip

router, catalog = st.session_state["router"], st.session_state["catalog"]
st.title("Models and costs")

st.subheader("Catalog")
st.caption("Prices in USD per 1M tokens. Edits apply to this session at once on every page: costs are re-priced from the "
           "router's predicted answer lengths, with no retraining.")
if catalog is None:
    st.info("This router was trained without a catalog: its cost head predicts USD directly, so prices cannot be edited.")
else:
    edited = st.data_editor(catalog.to_frame(), hide_index=True, width="stretch", disabled=["name"], key="catalog_editor",
                            column_config={"input_usd_per_1m": st.column_config.NumberColumn("input $/1M", min_value=0.0, format="%.3f"),
                                           "output_usd_per_1m": st.column_config.NumberColumn("output $/1M", min_value=0.0, format="%.3f"),
                                           "typical_output_tokens": st.column_config.NumberColumn("typical output tokens", min_value=0, step=1)})
    try:
        updated = catalog.with_edits(edited, source="catalog table")
    except RouterInputError as e:
        st.error(escape_markdown(e))
    else:
        if updated != catalog:
            st.session_state["catalog"] = updated
            st.rerun()
    free = [c.name for c in catalog.candidates if c.input_usd_per_1m == 0 or c.output_usd_per_1m == 0]
    if free:
        st.warning(f"Priced at $0 per 1M tokens (input or output): {', '.join(map(escape_markdown, free))}. The router then "
                   "treats those tokens as free, so any λ above 0 favours the model; check the price (a self-hosted "
                   "model still costs its hardware).")
    checks = checks_for(catalog)
    differ = [c for c in checks if c.status != "agrees"]
    with st.expander(f"LiteLLM's list prices beside the catalog's ({len(differ)} of {len(checks)} differ or are unknown)",
                     expanded=bool(differ)):
        st.caption("From the price map inside the installed LiteLLM (USD per 1M tokens), matched by provider_model_id. "
                   "The catalog's price is the one used; a catalog row left without prices takes LiteLLM's. "
                   "`crossroute prices --catalog FILE` prints the same table.")
        table = price_table(checks)
        # Text cells, so a missing price reads "–" and every cell of a column has one type (Arrow refuses a mix).
        st.dataframe(as_text(table, {c: "{:g}" for c in table.columns if "$/1M" in c}), hide_index=True, width="stretch")
    left, right = st.columns(2)
    left.download_button("Export the prices (catalog CSV)", catalog.to_frame().to_csv(index=False), "catalog.csv", "text/csv",
                         help="Re-import with `--catalog catalog.csv` on the command line")
    right.download_button("Export as a LiteLLM config.yaml", catalog_to_litellm_config(catalog), "config.yaml",
                          "application/yaml", help="model_list with per-token prices; the import below reads it back")
    config_file = st.file_uploader("Import prices from a catalog CSV (as exported above) or a LiteLLM proxy config.yaml "
                                   "(model_list[].model_info)", type=["csv", "yaml", "yml"])
    if config_file is not None:
        try:
            check_upload_size(config_file.name, config_file.size, hint="a price list is small; check that this is the config.yaml")
            imported = load_catalog(io.BytesIO(config_file.getvalue()), name=config_file.name)
            merged, priced = catalog.with_prices_from(imported, source=config_file.name)
            ignored = [n for n in imported.names if n not in catalog.names]
            untouched = [n for n in catalog.names if n not in priced]
            if ignored:
                st.info(f"Ignored from {escape_markdown(config_file.name)}: {', '.join(map(escape_markdown, ignored))} "
                        "(not models of this router; add one below from labelled queries).")
            if untouched:
                st.info(f"Not in the file, so their prices stay: {', '.join(map(escape_markdown, untouched))}.")
            if st.button(f"Apply prices for {', '.join(map(escape_markdown, priced))}"):
                st.session_state["catalog"] = merged
                st.rerun()
        except RouterInputError as e:
            st.error(escape_markdown(e))

st.subheader("This session's router")
st.caption("A router trained or extended here lives in this session only: download it to keep it (a zip of the "
           "artifact; `unzip` it and pass the folder as `--router` on the command line), and load it here again later.")
left, right = st.columns(2)
if "custom_router" in st.session_state:
    left.download_button("Download this router (zip)", lambda: router_zip(router), "router.zip", "application/zip")
else:
    left.caption("The default router is the bundled `sample_data/router`; nothing to download.")
router_file = right.file_uploader("Load a router (zip downloaded here)", type=["zip"], key="router_zip")
if router_file is not None and st.session_state.get("router_zip_seen") != router_file.file_id:
    try:
        check_upload_size(router_file.name, router_file.size, hint="a router zip is about 100 MB with its ONNX graphs")
        loaded = router_from_zip(router_file.getvalue(), router_file.name)
    except RouterInputError as e:
        st.error(escape_markdown(e))
    else:
        st.session_state["router_zip_seen"] = router_file.file_id  # loaded once; "Back to the default router" stays possible
        st.session_state["custom_router"] = loaded
        st.session_state["catalog"] = loaded.catalog
        st.rerun()

st.subheader("Train a router on your labelled set")
st.caption("Long format: query_id, query, model, quality (0–1), and cost_usd or input_tokens + output_tokens. "
           "20% of queries are held out (seed 0) for the Pareto explorer; the router is used in this session only. "
           "With 4,000 training queries or more (after the hold-out) the encoder's top layer is tuned with the router "
           "(better routing, measured on llmrouter; training takes minutes rather than seconds); smaller sets keep it "
           "frozen, where tuning lost quality.")
labelled_file = st.file_uploader("Labelled set to train on", type=["csv", "jsonl", "json", "parquet"], key="train_upload")
epochs = st.number_input("Maximum epochs (stops early on validation loss)", 5, 200, 40)
if labelled_file is not None and st.button("Train"):
    try:
        check_upload_size(labelled_file.name, labelled_file.size, hint=LABELLED_HINT)
        data = load_labelled(io.BytesIO(labelled_file.getvalue()), catalog, missing="drop", name=labelled_file.name)
        train, _ = data.split(0.2, 0)
        bar = st.progress(0.0, text="Encoding…")
        trained = Router(RouterConfig.of(epochs=int(epochs))).fit(
            train, catalog if catalog is not None and catalog.covers(data.candidates) else None,
            encoder=router.encoder, show_bar=False,
            progress=lambda stage, done, total: bar.progress(done / max(total, 1), text=f"{stage} {done}/{total}"))
        bar.empty()
    except RouterInputError as e:
        st.error(escape_markdown(e))
    else:
        st.session_state["custom_router"] = trained
        st.session_state["catalog"] = trained.catalog
        record = trained.training
        tuned = "top encoder layer tuned" if record.finetuned_layers else "encoder frozen"
        st.success(f"Trained on {record.n_train} queries in {record.seconds:.0f} s ({tuned}); this session now uses it.")
        st.json(record.validation)

st.subheader("Add a model to this router")
st.caption("Rows for the new model only (same long format). Only its capability embedding, read-out row and bias are "
           "trained, and its neighbour evidence comes from these rows. Three quarters of its predicted quality come from the other "
           "models': its labels here are regressed on their predictions for the same queries, and its overall and per-task-type levels are its offset from their average there, so a sample of easy queries does not make it look good everywhere. Every other weight stays as it is. The curves below are the router's predictions over the sample queries, before and after.")
new_file = st.file_uploader("Labelled rows for the new model", type=["csv", "jsonl", "json", "parquet"], key="add_upload")
provider_id = st.text_input("LiteLLM model id (provider/model, as the proxy calls it)", placeholder="openai/gpt-4.1-mini",
                            key="add_provider_id").strip()
known = map_price(provider_id) if provider_id else None
if known is not None:
    st.caption(f"LiteLLM's list price for {escape_markdown(provider_id)}: input ${known.input_usd_per_1m:g}, output "
               f"${known.output_usd_per_1m:g} per 1M tokens (filled in below; change them if you pay otherwise).")
cols = st.columns(3)
price_in = cols[0].number_input("input $/1M", 0.0, 1000.0, known.input_usd_per_1m if known else 0.5, key=f"add_in_{provider_id}")
price_out = cols[1].number_input("output $/1M", 0.0, 1000.0, known.output_usd_per_1m if known else 1.5, key=f"add_out_{provider_id}")
typical = cols[2].number_input("typical output tokens", 1, 100000, 300)
if new_file is not None and st.button("Add the model"):
    try:
        if "/" not in provider_id or provider_id.startswith("/") or provider_id.endswith("/"):
            raise RouterInputError(f"LiteLLM model id: give it with its provider, such as openai/gpt-4.1-mini, got "
                                   f"{provider_id or 'nothing'!r}; exports and the proxy call the model by it")
        with st.status("Adding the model…", expanded=True) as status:
            st.write("Reading the labelled rows…")
            check_upload_size(new_file.name, new_file.size, hint=LABELLED_HINT)
            samples = load_labelled(io.BytesIO(new_file.getvalue()), name=new_file.name)
            name = samples.candidates[0]
            entry = Candidate(name, provider_id, float(price_in), float(price_out), int(typical))
            priced = samples if samples.input_tokens is None else samples.repriced(Catalog((entry,)))
            st.write(f"Training {escape_markdown(name)}'s capability embedding on {len(samples)} queries…")
            extended = router.with_candidate(priced, entry if router.catalog is not None else None)
            st.write("Exporting the new router head to ONNX, so it scores as fast as before…")
            extended = with_onnx_head(extended, router)
            st.write("Predicting the curves before and after on the sample queries…")
            queries = load_labelled(st.session_state["sample_dir"] / "labelled.csv", router.catalog).queries[:600]
            lams = np.linspace(0, 1, 41)
            sweeps = {"before": router.sweep(queries, lams), f"after adding {name}": extended.sweep(queries, lams)}
            share = pd.Series([d.candidate for d in extended.route(queries, 0.2)]).value_counts(normalize=True).get(name, 0.0)
            status.update(label=f"{name} added", state="complete")
    except RouterInputError as e:
        st.error(escape_markdown(e))
    else:
        st.session_state["custom_router"] = extended
        st.session_state["catalog"] = extended.catalog
        st.session_state["model_added"] = (extended.id, name, len(samples), share, sweeps)
        st.rerun()  # every widget of the page and the sidebar shows the new router at once
added = st.session_state.get("model_added")
if added is not None and added[0] == router.id:
    _, name, n_samples, share, sweeps = added
    st.plotly_chart(predicted_curves_figure(sweeps), width="stretch")
    st.success(f"{escape_markdown(name)} added from {n_samples} labelled queries; at λ=0.2 it would take {share:.0%} of "
               "the sample queries (predicted).")
