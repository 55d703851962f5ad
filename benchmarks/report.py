"""Render benchmarks/results/*.json into docs/results.md and the README's results block.

    python benchmarks/report.py [--results benchmarks/results] [--out docs/results.md] [--readme README.md]

Every figure on the results page and between the README's `<!-- results:start -->` and `<!-- results:end -->`
markers comes from a result file a benchmark wrote (benchmarks/results_io.py), so none is typed by hand. Both files
are written atomically; the README outside the markers is left exactly as it was.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

try:
    from benchmarks.results_io import write_text_atomic
except ImportError:  # run as `python benchmarks/report.py`: its own folder is on sys.path, the repository may not be
    from results_io import write_text_atomic

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- results:start -->", "<!-- results:end -->"
GENERATED_BY = "`python benchmarks/report.py` from `benchmarks/results/*.json`"


@dataclass(frozen=True)
class Benchmark:
    title: str
    description: str
    command: str  # the default run, shown when there is no result yet
    order: tuple[str, ...] = ()  # subsets (data sets) in the order the page lists them


BENCHMARKS = {
    "routing_quality": Benchmark(
        "Routing quality",
        "The router and every baseline on the real routing sets, 5-fold cross-validation by query: quality and cost are "
        "the measured outcomes of the chosen model on the held-out fold, mean and std over folds.",
        "python benchmarks/routing_quality.py",
        ("llmrouter_train", "alpacaeval2", "routellm_gsm8k", "routellm_mmlu", "routerarena")),
    "routing_shift": Benchmark(
        "Routing quality under task-mix shift",
        "The router and every baseline on splits whose test traffic differs from training: task types left out of "
        "training (grouped folds), a shifted mix (half the task types rare in training and common in the test), and "
        "each task type's hardest items (by the best single model's labels) held out. Measured on the test rows; "
        "paired split-by-split gaps to the best baseline and to ridge regression on the same embeddings.",
        "python benchmarks/routing_quality.py --shift",
        ("llmrouter_train", "alpacaeval2", "routellm_mmlu")),
    "small_data": Benchmark(
        "Little training data",
        "Routers trained on 50 or 100 labelled queries (several random draws), measured on a fixed held-out sample: "
        "with thin evidence the router should fall back to the best fixed model per λ rather than route below it.",
        "python benchmarks/small_data.py",
        ("alpacaeval2", "llmrouter_train")),
    "train_time": Benchmark(
        "Training time",
        "Wall time of `crossroute train` on a real set in a fresh process, alone on the machine: loading, encoding, "
        "the cross-fitted networks, the final fit and saving.",
        "python benchmarks/train_time.py"),
    "routing_ceiling": Benchmark(
        "Category-level ceiling",
        "Reference routers that know each test query's true category (or the test fold's own category means), beside "
        "the baselines on the same folds: how far routing by task type alone can go.",
        "python benchmarks/routing_ceiling.py",
        ("llmrouter_train", "alpacaeval2", "routellm_mmlu", "routerarena")),
    "add_model": Benchmark(
        "Adding a model",
        "A model added to a router trained without it, from a few labelled queries (several random draws per size), "
        "against full retraining on every model; one 80/20 split by query per seed.",
        "python benchmarks/add_model.py"),
    "latency": Benchmark(
        "Latency and throughput",
        "Routing latency, throughput, peak memory and cold start of torch fp32, ONNX fp32 and ONNX int8, each in fresh "
        "processes; a λ move over already-scored queries; the dashboard's cold start.",
        "python benchmarks/latency.py"),
    "reliability": Benchmark(
        "Reliability",
        "Generated hostile and broken files for every parser a user feeds, corrupted router artifacts, commands killed "
        "at many points (between renames included), processes opening one score cache at once, and a running server "
        "fed generated hostile requests, admin calls and policy texts, a failing upstream, clients that leave or "
        "trickle, and SIGKILL under load: how many ended in a clear error, and how many crashed, corrupted silently, "
        "read outside the artifact, lost it, hung or left an answered request without its decision record.",
        "python benchmarks/reliability.py"),
    "dashboard_cold": Benchmark(
        "Dashboard first visit",
        "Each page opened by its URL on a freshly started server in Debian's chromium, with an empty score cache, "
        "then by a second new visitor on the same warm server: time until the page shows and until it has finished "
        "(medians), beside Streamlit alone; and the Pareto and Schedule pages after a price edit.",
        "python benchmarks/dashboard_cold.py"),
    "serve_load": Benchmark(
        "Router server under load",
        "The router server and a pass-through server on the same stack (FastAPI, uvicorn, LiteLLM) in front of a fake "
        "upstream with a fixed latency, the same real query texts from concurrent clients, in one run: the latency "
        "each adds over the upstream, the router's own routing time, throughput, errors and memory.",
        "python benchmarks/serve_load.py"),
    "budget_controller": Benchmark(
        "Budget controller",
        "The server's budget controller replayed minute by minute on the bundled request log (and on the same log with "
        "a 3× surge for two hours): each day's spend against its budget, and its predicted quality against the best "
        "constant λ chosen in hindsight for that day; on the surge day, beside the constant λ fitted on the week before.",
        "python benchmarks/budget_controller.py"),
    "monitoring_speed": Benchmark(
        "Monitoring page on a large decision log",
        "The Monitoring page's SQL queries and its first render (server side, fresh process) on a decision log of one "
        "million records.",
        "python benchmarks/monitoring_speed.py"),
    "dashboard_speed": Benchmark(
        "Dashboard speed",
        "Server-side dashboard speed in Streamlit's AppTest, caches warm: first render of each page, and the rerun after "
        "a λ move or a preset change (medians).",
        "python benchmarks/dashboard_speed.py"),
    "scale": Benchmark(
        "Scoring a big request log on Ray",
        "`score-log` on a generated 200,000-request log with repeated prompts: the local engine against the Ray engine "
        "with 1 and 2 workers, each in a fresh process on this machine (throughput, peak memory per process, the share "
        "of the time that is Ray's), then a projection, not a measurement, to a billion requests a day.",
        "python benchmarks/scale.py"),
    "decision_cost": Benchmark(
        "What a routing decision costs, by lever",
        "CPU per distinct query on one core for the shipped MiniLM encoder and each lever that makes it cheaper (fewer "
        "tokens, int8, static token vectors), and the routing quality of a router trained with each lever: measured "
        "AIQ on held-out labelled queries (fold 0 of five, and task types left out).",
        "python benchmarks/decision_cost.py"),
    "conversation_routing": Benchmark(
        "Routing a request as the server reads it",
        "Held-out labelled queries routed by their own text, as a single-turn chat request (identical by design), and "
        "behind a generic system prompt whose start the router also reads; measured AIQ and the share of decisions "
        "(21 λ values) that change.",
        "python benchmarks/conversation_routing.py",
        ("sample", "alpacaeval2")),
    "feedback_learning": Benchmark(
        "Learning from feedback on routed traffic",
        "A router trained on some task types routes a stream of queries of others, one model's quality revealed per "
        "query as feedback, and `learn` applied after each chunk; measured AIQ on later queries against the static "
        "router, a router retrained with every label (the ceiling) and the best baseline.",
        "python benchmarks/feedback_learning.py",
        ("alpacaeval2", "llmrouter_train")),
    "off_policy": Benchmark(
        "Off-policy estimates against the truth",
        "Logged traffic with exploration on labelled sets: how often the inverse-propensity and doubly robust 95% "
        "intervals for another λ's quality hold its true labelled quality.",
        "python benchmarks/off_policy.py"),
}

HEADERS = {"aiq": "AIQ", "max_quality": "max quality", "cost_at_best_single": "cost at best-single quality",
           "quality_at_cheapest": "quality at cheapest cost", "apgr": "APGR", "cpt50": "CPT(50%)", "cpt80": "CPT(80%)",
           "calls_at_95pct": "strong calls at 95% quality", "fit_seconds": "fit seconds"}


# ---------------------------------------------------------------------------------------------------------- formats

def infer_kind(column: str) -> str:
    """How a column's numbers are shown, from its name (a table's `formats` overrides this)."""
    c = column.lower()
    if "share" in c or "worst" in c:
        return "percent2"
    if any(k in c for k in ("cost_at_best_single", "cost at best", "cpt", "calls_at", "calls at", "agreement", "percent")):
        return "percent"
    if "vs_budget" in c or "vs budget" in c:
        return "percent"
    if "usd" in c or "$" in c or c.startswith("cost") or c.startswith("spend"):
        return "usd"
    if any(k in c for k in ("aiq", "quality", "apgr")):
        return "quality"
    if "ratio" in c or "×" in c:
        return "ratio"
    if c.endswith("_ms") or "(ms)" in c or c.endswith(" ms") or "_ms_" in c:
        return "ms"
    if "core-seconds per" in c:  # a unit cost, far below one: significant digits, not one decimal
        return "auto"
    if "seconds" in c or c.endswith("_s") or "(s)" in c:
        return "seconds"
    if "qps" in c or "q/s" in c:
        return "rate"
    if c.endswith("_mb") or "(mb)" in c:
        return "mb"
    return "auto"


def significant_usd(value: float, digits: int = 3) -> str:
    """$ with `digits` significant digits: $0.00123, $1.23, $123, $1,230."""
    if value == 0:
        return "$0"
    sign = "-" if value < 0 else ""
    value = abs(value)
    decimals = digits - 1 - math.floor(math.log10(value))
    rounded = round(value, decimals)
    if rounded and math.floor(math.log10(rounded)) != math.floor(math.log10(value)):  # 0.9996 -> 1.00: one digit fewer
        decimals -= 1
    return f"{sign}${rounded:,.{max(decimals, 0)}f}"


def _plain(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}" if abs(value) >= 1000 else str(int(value))
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def format_value(value: Any, kind: str = "auto") -> str:
    """One cell as Markdown text: null as –, numbers by kind, text with its pipes escaped."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value.replace("|", "\\|").replace("\n", " ")
    if not isinstance(value, (int, float)):
        return format_value(str(value))
    if isinstance(value, float) and not math.isfinite(value):
        return "–"
    if kind == "text":
        return str(value)
    if kind == "quality":
        return f"{value:.4f}"
    if kind == "percent":
        return f"{value * 100:.1f}%"
    if kind == "percent2":
        return f"{value * 100:.2f}%"
    if kind == "ratio":
        return f"{value:.3f}×"
    if kind == "usd":
        return significant_usd(float(value))
    if kind in ("ms", "seconds"):
        return f"{value:.1f}" if abs(value) < 100 else f"{value:,.0f}"
    if kind in ("rate", "mb"):
        return f"{value:,.0f}"
    if kind == "int":
        return f"{int(value):,}" if abs(value) >= 1000 else str(int(value))
    return _plain(value)


def header(column: str) -> str:
    """A column name as a heading: aiq_mean -> AIQ mean."""
    for suffix in ("_mean", "_std"):
        if column.endswith(suffix) and column[: -len(suffix)] in HEADERS:
            return f"{HEADERS[column[: -len(suffix)]]} {suffix[1:]}"
    return HEADERS.get(column, column)


def markdown_table(columns: list[str], rows: list[dict], formats: dict[str, str] | None = None) -> str:
    formats = formats or {}
    kinds = {c: formats.get(c) or infer_kind(c) for c in columns}
    lines = ["| " + " | ".join(format_value(header(c)) for c in columns) + " |",
             "|" + "|".join("---" if kinds[c] in ("auto", "text") and _is_text(rows, c) else "---:" for c in columns) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(format_value(row.get(c), kinds[c]) for c in columns) + " |")
    return "\n".join(lines)


def _is_text(rows: list[dict], column: str) -> bool:
    return any(isinstance(r.get(column), str) for r in rows)


# ---------------------------------------------------------------------------------------------------------- results

def load_results(results_dir: Path) -> list[dict]:
    """Every result file, each with its path; a file that is not a result stops the report with its name."""
    results = []
    for path in sorted(Path(results_dir).glob("*.json")):
        if path.name.startswith("."):
            continue  # a write in progress
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON ({e})") from e
        missing = [k for k in ("benchmark", "command", "tables") if k not in result]
        if missing:
            raise ValueError(f"{path}: not a benchmark result (lacks {', '.join(missing)})")
        result.setdefault("name", path.stem)
        result["path"] = path
        results.append(result)
    return results


def grouped(results: list[dict]) -> dict[str, list[dict]]:
    """Results per benchmark, known benchmarks first in page order, subsets in each benchmark's order."""
    groups: dict[str, list[dict]] = {name: [] for name in BENCHMARKS}
    for result in results:
        groups.setdefault(result["benchmark"], []).append(result)
    for name, items in groups.items():
        order = BENCHMARKS[name].order if name in BENCHMARKS else ()
        items.sort(key=lambda r: (order.index(subset(r)) if subset(r) in order else len(order), r["name"]))
    return groups


def subset(result: dict) -> str:
    """What distinguishes this result from the benchmark's others: the part of its name after the benchmark's."""
    return result["name"][len(result["benchmark"]) + 1:] if result["name"].startswith(result["benchmark"] + "-") else ""


def machine_line(machine: dict | None) -> str:
    if not machine:
        return "not recorded"
    parts = [machine.get("arch"), f"{machine['cpu_count']} cores" if machine.get("cpu_count") else None, machine.get("cpu_model")]
    versions = [f"Python {machine['python']}" if machine.get("python") else None, f"torch {machine['torch']}" if machine.get("torch") else None]
    text = ", ".join(p for p in parts if p)
    return text + ("; " + ", ".join(v for v in versions if v) if any(versions) else "")


def date_text(iso: str | None) -> str:
    if not iso:
        return "not recorded"
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return iso


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "not recorded"
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes = seconds / 60
    return f"{seconds:,.0f} s ({minutes:.0f} min)" if minutes < 120 else f"{seconds:,.0f} s ({minutes / 60:.1f} h)"


def title_of(name: str) -> str:
    return BENCHMARKS[name].title if name in BENCHMARKS else name


def command_of(name: str) -> str:
    return BENCHMARKS[name].command if name in BENCHMARKS else f"python benchmarks/{name}.py"


# ---------------------------------------------------------------------------------------------------------- rendering

def render_page(results: list[dict]) -> str:
    """The whole of docs/results.md."""
    out = [f"<!-- Generated by {GENERATED_BY}. Do not edit by hand: run a benchmark, then the report. -->",
           "# Benchmark results", "",
           f"This page is generated by {GENERATED_BY} and must not be edited by hand. Each benchmark writes its "
           "result file when it finishes; the report renders every file here and a summary into the README.", "",
           "Figures are measured, never predicted by the router: quality and cost are the labelled outcomes of the "
           "model each router chose, on queries it did not train on. **AIQ** is the area under a router's quality/cost "
           "curve (its non-decreasing upper convex hull) between the cheapest and the dearest single model's mean cost, "
           "divided by that cost range: the average quality it delivers across budgets. Timings depend on the machine "
           "and its load: compare rows within one run, not across runs.", ""]
    for name, items in grouped(results).items():
        out += [f"## {title_of(name)}", ""]
        if name in BENCHMARKS:
            out += [BENCHMARKS[name].description, ""]
        if not items:
            out += [f"Not run yet. Run `{command_of(name)}`, then `python benchmarks/report.py`.", ""]
            continue
        for result in items:
            if subset(result):
                out += [f"### {subset(result)}", ""]
            out += [f"- Machine: {machine_line(result.get('machine'))}",
                    f"- Date: {date_text(result.get('date'))}; run time {duration(result.get('seconds'))}",
                    f"- Reproduce: `{result['command']}`", ""]
            for table in result["tables"]:
                if table.get("title"):
                    out += [f"**{table['title']}**", ""]
                columns = table.get("columns") or list(dict.fromkeys(k for row in table["rows"] for k in row))
                out += [markdown_table(columns, table["rows"], table.get("formats")), ""]
            if result.get("notes"):
                out += [f"- {format_value(note)}" for note in result["notes"]] + [""]
    return "\n".join(out).rstrip("\n") + "\n"


def render_block(results: list[dict], page_link: str) -> str:
    """The README's compact summary, markers included."""
    out = [START, f"<!-- Generated by {GENERATED_BY}; do not edit between these markers. -->", ""]
    groups = {name: items for name, items in grouped(results).items() if items}
    if not groups:
        out += ["No results recorded yet. Each benchmark command (see [Benchmarks](#benchmarks)) writes "
                "`benchmarks/results/<name>.json` when it finishes; `python benchmarks/report.py` then renders them "
                f"into [{page_link}]({page_link}) and into this section.", "", END]
        return "\n".join(out)
    out += [f"Measured by the benchmark commands below and rendered by {GENERATED_BY}. Machines, dates, every table "
            f"and row: [{page_link}]({page_link}).", ""]
    for name, items in groups.items():
        commands = list(dict.fromkeys(r["command"] for r in items))
        dates = sorted(date_text(r.get("date"))[:10] for r in items)
        when = dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"
        rows = [row for r in items for row in r.get("summary") or []]
        columns = list(dict.fromkeys(k for row in rows for k in row))
        kinds = {c: infer_kind(c) for c in columns}
        facts = "; ".join(", ".join(f"{header(k)} {format_value(v, kinds[k])}" for k, v in row.items()) for row in rows)
        out.append(f"- **{title_of(name)}** ({machine_line(items[0].get('machine')).split(';')[0]}; {when}; "
                   + ", ".join(f"`{c}`" for c in commands) + f"): {facts or 'see the results page'}.")
    out.append("")
    missing = [name for name, items in grouped(results).items() if not items]
    if missing:
        out += ["Not run yet: " + ", ".join(f"{title_of(n).lower()} (`{command_of(n)}`)" for n in missing) + ".", ""]
    out.append(END)
    return "\n".join(out)


def replace_block(readme: str, block: str) -> str:
    """`readme` with the text from START to END (markers included) replaced by `block`; nothing else changes."""
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < 0 or end < start:
        raise ValueError(f"README has no {START} … {END} block to fill")
    if readme.find(START, start + 1) >= 0 or readme.find(END, end + 1) >= 0:
        raise ValueError(f"README has more than one {START} … {END} block")
    return readme[:start] + block + readme[end + len(END):]


def render(results_dir: Path | str, out_path: Path | str, readme_path: Path | str | None) -> list[dict]:
    """Write the results page to out_path and, if readme_path is given, its summary into that README's block.

    Returns the results it rendered.
    """
    results = load_results(Path(results_dir))
    out_path = Path(out_path)
    write_text_atomic(out_path, render_page(results))
    if readme_path is not None:
        readme_path = Path(readme_path)
        link = Path(os.path.relpath(out_path.resolve(), readme_path.resolve().parent)).as_posix()
        readme = readme_path.read_text(encoding="utf-8")
        updated = replace_block(readme, render_block(results, link))
        if updated != readme:
            write_text_atomic(readme_path, updated)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default=str(ROOT / "benchmarks" / "results"), help="folder of result files")
    parser.add_argument("--out", default=str(ROOT / "docs" / "results.md"), help="results page to write")
    parser.add_argument("--readme", default=str(ROOT / "README.md"), help="README whose results block is rewritten")
    args = parser.parse_args(argv)
    try:
        results = render(args.results, args.out, args.readme)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"rendered {len(results)} result file(s) from {args.results} into {args.out} and {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
