"""The Monitoring page on a decision log of 1,000,000 records: how long its queries and its first render take.

    .venv/bin/python benchmarks/monitoring_speed.py [--records 1000000] [--repeats 3]

The log is built from the sample's demo decision log (the bundled request log replayed through the budget
controller), its records repeated, each copy 5 s earlier than the last, until there are --records of them (about 50 decisions a
minute over the same two weeks), in one
SQLite file like the server's (same schema and time index). Timed: every query the page runs, for the whole log and
for its last 24 hours (medians), and the page's first render server side in Streamlit's AppTest on a fresh process
(script start to finish; a browser adds Streamlit's own page load on top). Target: first render ≤ 2 s.
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from results_io import Table, command_line, write_result

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from router_core.decisionlog import queries as mon  # noqa: E402
from router_core.decisionlog.schema import COLUMNS  # noqa: E402
from router_core.decisionlog.store import DecisionLog, rebuild_rollup  # noqa: E402
from router_core.demo.views import demo_decisions  # noqa: E402


def build(records: int, folder: Path) -> Path:
    demo = demo_decisions(ROOT / "sample_data")
    if demo is None:
        raise SystemExit("no demo decision log in sample_data/views: run `python -m router_core sample-data --views-only`")
    source = sqlite3.connect(demo[0])
    names = list(COLUMNS)
    rows = source.execute(f"SELECT {', '.join(names)} FROM decisions ORDER BY ts").fetchall()
    source.close()
    DecisionLog(folder).close()  # the server's schema and index
    target = sqlite3.connect(folder / mon.LOG_FILE)
    ts, rid = names.index("ts"), names.index("request_id")
    insert = f"INSERT INTO decisions ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
    written, copy = 0, 0
    with target:
        while written < records:
            batch = []
            for row in rows[: records - written]:
                row = list(row)
                row[ts] -= copy * 5.0  # each copy 5 s earlier: the same two weeks, ever busier (about 50 a minute)
                row[rid] = f"{row[rid]}-{copy}"
                batch.append(row)
            target.executemany(insert, batch)
            written += len(batch)
            copy += 1
    target.close()
    rebuild_rollup(folder / mon.LOG_FILE)  # what the server's writer keeps up to date as it goes
    return folder


def page_queries(connection, filters: mon.Filters, start: float, end: float) -> None:
    scanned = mon.scan(connection, filters, mon.bucket_seconds(start, end))
    mon.over_time(scanned)
    mon.model_mix(scanned)
    mon.lambda_sources(scanned)
    mon.cost_by_model(scanned)
    mon.reasons(connection, filters)
    mon.routing_latency(connection, filters)
    mon.weights_by_hour(connection, filters)
    for column in ("user", "team", "model"):
        mon.choices(connection, column)


RENDER = """
import sys, time
from streamlit.testing.v1 import AppTest
started = time.perf_counter()
at = AppTest.from_file("{root}/dashboard_frame.py", default_timeout=300)
at.run()
at.switch_page("app_pages/monitoring.py").run()
assert not at.exception, [e.value for e in at.exception]
print(time.perf_counter() - started)
"""
ROUTE_ONLY = RENDER.replace('at.switch_page("app_pages/monitoring.py").run()\n', "")


def fresh_render(folder: Path, script: str) -> float:
    env = {**os.environ, "CROSSROUTE_DECISIONS": str(folder)}
    out = subprocess.run([sys.executable, "-c", script.format(root=ROOT)], env=env, capture_output=True, text=True, cwd=ROOT,
                         timeout=600)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="crossroute-monitoring-") as tmp:
        folder = build(args.records, Path(tmp))
        built = time.perf_counter() - started
        connection = mon.connect(folder)
        first, last, n = mon.span(connection)
        rows = []
        for name, start in (("whole log", first), ("last 24 hours", last - 86400)):
            times = []
            for _ in range(args.repeats):
                began = time.perf_counter()
                page_queries(connection, mon.Filters(start=start), start, last + 1)
                times.append(time.perf_counter() - began)
            rows.append({"step": f"every query of the page, {name}", "seconds (median)": statistics.median(times)})
        dashboard_only = statistics.median(fresh_render(folder, ROUTE_ONLY) for _ in range(args.repeats))
        with_page = statistics.median(fresh_render(folder, RENDER) for _ in range(args.repeats))
        rows.append({"step": "AppTest, fresh process: dashboard start (Route page)", "seconds (median)": dashboard_only})
        rows.append({"step": "AppTest, fresh process: dashboard start, then the Monitoring page", "seconds (median)": with_page})
        rows.append({"step": "Monitoring page's first render (difference)", "seconds (median)": with_page - dashboard_only})
        size_mb = (folder / mon.LOG_FILE).stat().st_size / 2**20
    table = pd.DataFrame(rows).set_index("step")
    notes = [f"{n:,} decision records ({size_mb:,.0f} MB SQLite) built in {built:.0f} s from the sample's demo log; "
             f"the page opens on the whole log (a replay is not live)",
             "target: the Monitoring page's first render ≤ 2 s"]
    print(table.to_string(float_format=lambda x: f"{x:.2f}"))
    for line in notes:
        print(f"- {line}")
    write_result("monitoring_speed", command_line(), [Table(f"Monitoring page on {n:,} decision records", table)],
                 notes=notes, seconds=time.perf_counter() - started,
                 summary={"records": n, "page first render (s)": with_page - dashboard_only,
                          "queries, whole log (s)": rows[0]["seconds (median)"]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
