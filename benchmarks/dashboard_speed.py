"""Dashboard speed, server side: first render of each page once warm, and reruns after a λ move or preset change.

    .venv/bin/python benchmarks/dashboard_speed.py [--repeats 5]

Runs the app in Streamlit's AppTest (the script as the server runs it, without the browser), warms the caches
with one visit per page, then prints medians over repeated runs. Targets on the sample set: first render of a page
< 3 s, rerun after a λ slider move < 300 ms.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import pandas as pd
from results_io import Table, command_line, write_result
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "dashboard_frame.py")


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started




def first_render(page: str | None) -> float:
    """Seconds to run the frame and then the page, as a new session would."""
    at = AppTest.from_file(APP, default_timeout=600).run()
    if page is None:
        return timed(lambda: AppTest.from_file(APP, default_timeout=600).run())
    return timed(lambda: at.switch_page(f"app_pages/{page}.py").run())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"machine: {os.cpu_count()} cores; medians over {args.repeats} runs; AppTest, server side only")
    warm = timed(lambda: [AppTest.from_file(APP, default_timeout=600).run().switch_page(f"app_pages/{p}.py").run()
                          for p in ("pareto", "schedule", "models")])
    print(f"warm-up (loads the router, scores the sample set and log once): {warm:.1f} s")
    rows = []
    for label, page in (("Route a query", None), ("Pareto explorer", "pareto"), ("Schedule simulator", "schedule"), ("Models and costs", "models")):
        rows.append((f"{label}: first render", statistics.median(first_render(page) for _ in range(args.repeats))))

    def rerun_after(page, change):
        samples = []
        for i in range(args.repeats):
            at = AppTest.from_file(APP, default_timeout=600).run()
            if page:
                at.switch_page(f"app_pages/{page}.py").run()
            samples.append(timed(lambda: change(at, i).run()))
        return statistics.median(samples)

    lam_slider = lambda at: next(s for s in at.slider if s.label.startswith("λ"))  # noqa: E731
    rows.append(("Route a query: λ slider move", rerun_after(None, lambda at, i: lam_slider(at).set_value(0.05 * (i + 3)))))
    rows.append(("Pareto explorer: λ slider move", rerun_after("pareto", lambda at, i: lam_slider(at).set_value(0.05 * (i + 3)))))
    rows.append(("Schedule simulator: preset change", rerun_after("schedule", lambda at, i: at.selectbox[0].set_value("Constant λ"))))
    width = max(len(r[0]) for r in rows)
    for label, seconds in rows:
        print(f"{label:<{width}}  {seconds * 1000:8.0f} ms")
    table = pd.DataFrame({"step": [label for label, _ in rows], "median (ms)": [seconds * 1000 for _, seconds in rows]})
    renders = [seconds for label, seconds in rows if label.endswith("first render")]
    slider = [seconds for label, seconds in rows if label.endswith("λ slider move")]
    write_result("dashboard_speed", command_line(),
                 [Table(f"Server side (AppTest), caches warm; medians over {args.repeats} runs", table)],
                 notes=[f"warm-up (loads the router, scores the sample set and log once): {warm:.1f} s",
                        "targets on the sample set: first render of a page < 3 s, rerun after a λ slider move < 300 ms"],
                 seconds=time.perf_counter() - started,
                 summary={"slowest first render (ms)": max(renders) * 1000, "first render target (ms)": 3000,
                          "slowest λ slider move (ms)": max(slider) * 1000, "λ move target (ms)": 300})
    return 0


if __name__ == "__main__":
    sys.exit(main())
