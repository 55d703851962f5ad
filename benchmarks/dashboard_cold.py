"""Dashboard first visit on a cold server, in a real browser, as a new user meets it.

    .venv/bin/python benchmarks/dashboard_cold.py [--repeats 3]

For each page and repeat: start `streamlit run dashboard.py` afresh with an empty score cache (nothing from an
earlier run), open the page's URL in Debian's chromium (Playwright, 1440×900) and time, from the navigation, until
the page's landmark element is visible and until the script has finished; then a second visitor (a new browser
context, nothing cached) opens the same URL on the now warm server. The server's own start (until its health check
answers, which includes warming the shared router and sample work) is timed apart. Two reference apps, Streamlit
alone with a table and with a table and one Plotly chart, measure the floor under every page in the same browser.
Then, server side in AppTest, the Pareto and Schedule pages after a price edit on the Models page (new prices, so no
shipped measurement applies). Targets: every page's first visit ≤ 3 s; a new visitor on a warm server ≤ 1.5 s.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from results_io import Table, command_line, write_result

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from browser_support import launch_chromium, streamlit_server, wait_idle  # noqa: E402

# (page, url path, an element that proves the page rendered)
PAGES = [("Route a query", "/", '[data-testid="stTextArea"]:has-text("Query")'),
         ("Pareto explorer", "/pareto", '[data-testid="stPlotlyChart"]'),
         ("Schedule simulator", "/schedule", '[data-testid="stMetric"]'),
         ("Models and costs", "/models", '[data-testid="stDataFrame"]'),
         ("Monitoring", "/monitoring", '[data-testid="stPlotlyChart"]')]
TIMEOUT_MS = 900_000
SETTLE_MS = 500  # wait_idle waits for the app to stay idle this long; taken off the "script finished" time


# Reference rows: Streamlit alone, what any page pays before its own work; a Plotly chart loads its own code in the browser.
TABLE_APP = 'import pandas as pd\nimport streamlit as st\nst.title("Reference")\nst.dataframe(pd.DataFrame({"a": [1, 2, 3]}))\n'
CHART_APP = TABLE_APP.replace("import streamlit", "import plotly.express as px\nimport streamlit") + \
    "st.plotly_chart(px.line(x=[1, 2, 3], y=[1, 3, 2]))\n"
REFERENCES = [("(reference) Streamlit: a title and a table", "/", '[data-testid="stDataFrame"]', TABLE_APP),
              ("(reference) Streamlit: a table and one Plotly chart", "/", '[data-testid="stPlotlyChart"]', CHART_APP)]


def cold_visit(browser, path: str, landmark: str, script: str = "dashboard.py") -> dict:
    """Seconds for a fresh server to answer, then for its first page to show and to finish."""
    with tempfile.TemporaryDirectory(prefix="crossroute-cold-cache-") as cache:
        os.environ["CROSSROUTE_CACHE_DIR"] = cache  # the server inherits it: no scores from an earlier run
        if script != "dashboard.py":
            (Path(cache) / "reference.py").write_text(script)
            script = str(Path(cache) / "reference.py")
        started = time.perf_counter()
        with streamlit_server(script, log_path=Path(cache) / "streamlit.log") as url:
            server = time.perf_counter() - started
            shown, finished = visit(browser, f"{url}{path}", landmark)
            warm_shown, warm_finished = visit(browser, f"{url}{path}", landmark)  # a new visitor, same server
    return {"server": server, "shown": shown, "finished": finished, "warm_shown": warm_shown, "warm_finished": warm_finished}


def visit(browser, url: str, landmark: str) -> tuple[float, float]:
    """A new visitor (fresh browser context, nothing cached) opens url: seconds until the landmark shows, and until the
    script has finished."""
    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    began = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded", timeout=60_000)
    page.locator(landmark).first.wait_for(state="visible", timeout=TIMEOUT_MS)
    shown = time.perf_counter() - began
    wait_idle(page, TIMEOUT_MS)
    finished = time.perf_counter() - began - SETTLE_MS / 1000
    page.context.close()
    return shown, finished


def after_price_edit(page: str) -> float:
    """Seconds (AppTest, server side) for `page` to render after the prices were edited on the Models page."""
    import dataclasses

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "dashboard_frame.py"), default_timeout=1800).run()
    catalog = at.session_state["catalog"]
    dearer = dataclasses.replace(catalog.candidates[0], input_usd_per_1m=catalog.candidates[0].input_usd_per_1m * 1.2)
    at.session_state["catalog"] = dataclasses.replace(catalog, candidates=(dearer, *catalog.candidates[1:]))
    started = time.perf_counter()
    at.switch_page(f"app_pages/{page}.py").run()
    if at.exception:
        raise RuntimeError(f"{page} after a price edit: {[e.value for e in at.exception]}")
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-price-edit", action="store_true")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    started = time.perf_counter()
    rows = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for name, path, landmark, *script in [*PAGES, *REFERENCES]:
            runs = [cold_visit(browser, path, landmark, *script) for _ in range(args.repeats)]
            row = {"page": name, **{key: statistics.median(r[key] for r in runs) for key in runs[0]}}
            rows.append(row)
            print(f"{name:<20} server {row['server']:5.1f} s   shown {row['shown']:5.2f} s   finished {row['finished']:5.2f} s"
                  f"   warm: shown {row['warm_shown']:5.2f} s   finished {row['warm_finished']:5.2f} s")
        browser.close()
    cold = pd.DataFrame(rows).set_index("page").rename(columns={
        "server": "server start (s)", "shown": "page shown (s)", "finished": "script finished (s)",
        "warm_shown": "new visitor, warm server: shown (s)", "warm_finished": "new visitor, warm server: finished (s)"})
    tables = [Table(f"Cold server, real browser (chromium 1440×900); medians over {args.repeats} fresh servers", cold,
                    {c: "seconds" for c in cold.columns})]
    edits = {}
    if not args.skip_price_edit:
        for page in ("pareto", "schedule"):
            edits[page] = after_price_edit(page)
            print(f"{page} after a price edit (AppTest): {edits[page]:.1f} s")
        edit_table = pd.DataFrame({"seconds": list(edits.values())},
                                  index=pd.Index(["Pareto explorer", "Schedule simulator"], name="page after a price edit"))
        tables.append(Table("After a price edit on the Models page (server side, AppTest; one run each)", edit_table,
                            {"seconds": "seconds"}))
    pages = cold.drop(index=[name for name, *_ in REFERENCES])
    slowest, slowest_warm = float(pages["script finished (s)"].max()), float(pages["new visitor, warm server: finished (s)"].max())
    floor = float(cold.loc[REFERENCES[1][0], "new visitor, warm server: finished (s)"])
    notes = [f"slowest first visit: {slowest:.2f} s until the script finished (target ≤ 3 s); slowest new visitor on a warm "
             f"server: {slowest_warm:.2f} s (target ≤ 1.5 s); Streamlit alone with one Plotly chart: {floor:.2f} s, the "
             "floor under every page with a chart",
             "page shown: from the navigation until the page's main element is visible; finished: until the script has "
             "run and every element has rendered (charts load their code in the browser)",
             "server start: until the health check answers; `streamlit run dashboard.py` first loads the router, runs "
             "its encoder once and prepares the sample evaluation and scored log that every visitor shares"]
    if edits:
        notes.append("after a price edit nothing is refitted or encoded: the Pareto page re-prices the shipped baseline "
                     "predictions and router scores, the Schedule page re-prices the shipped scored log")
    write_result("dashboard_cold", command_line(), tables, notes=notes, seconds=time.perf_counter() - started,
                 summary={"slowest first visit (s)": slowest, "target (s)": 3.0, "slowest warm visitor (s)": slowest_warm,
                          "warm target (s)": 1.5, "Streamlit with one chart (s)": floor,
                          **({"Pareto after price edit (s)": edits["pareto"]} if edits else {})})
    return 0


if __name__ == "__main__":
    sys.exit(main())
