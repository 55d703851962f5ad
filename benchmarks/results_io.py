"""Machine-readable benchmark results: each benchmark writes `benchmarks/results/<name>.json` with `write_result`.

`python benchmarks/report.py` renders every result into docs/results.md and the README's results block, so no
figure there is typed by hand. One result file holds:

    benchmark  the script's name (routing_quality); name: the file's (routing_quality-llmrouter_train)
    command    the command line that produced it, the interpreter shortened to `python`
    date       UTC, ISO 8601; seconds: the run's wall time
    machine    architecture, cores, CPU model, Python and torch versions
    tables     [{"title", "columns", "rows": [{column: value}], "formats": {column: kind}}], NaN and ±inf as null
    notes      lines the benchmark printed under its tables (verdicts, targets)
    summary    rows for the README's compact table (optional)
"""
from __future__ import annotations

import json
import math
import os
import platform
import shlex
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from router_core import files

RESULTS_DIR = Path(__file__).resolve().parent / "results"
REPO_ROOT = Path(__file__).resolve().parent.parent
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Table:
    """One printed table: a title, the frame (its index becomes the first columns) and optional per-column formats.

    formats maps a column to a kind the report knows (quality, percent, usd, ratio, ms, seconds, rate, mb, int, text);
    columns left out are formatted by their name.
    """

    title: str
    frame: pd.DataFrame
    formats: Mapping[str, str] = field(default_factory=dict)


def command_line(argv: list[str] | None = None) -> str:
    """The command that ran this process as a user would type it: `python benchmarks/x.py --flag value`."""
    argv = list(sys.argv if argv is None else argv)
    if not argv:
        return "python"
    script = Path(argv[0])
    try:
        script = script.resolve().relative_to(REPO_ROOT)
    except ValueError:
        pass  # a script outside the repository keeps the path it was given
    return shlex.join(["python", str(script), *argv[1:]])


def machine_facts() -> dict[str, Any]:
    """What the figures depend on: architecture, cores, CPU model, Python and torch versions."""
    facts: dict[str, Any] = {"arch": platform.machine(), "cpu_count": os.cpu_count(),
                             "python": platform.python_version(), "cpu_model": cpu_model()}
    try:  # the installed version, without paying for `import torch`
        facts["torch"] = metadata.version("torch")
    except metadata.PackageNotFoundError:
        facts["torch"] = None
    return facts


def cpu_model() -> str | None:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or None
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), None) or platform.processor() or None


def jsonable(value: Any) -> Any:
    """A JSON value for one cell: numpy scalars to Python, NaN and ±inf to None, timestamps to ISO text."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)):
        try:
            value = value.item()  # numpy scalar
        except (ValueError, AttributeError):
            pass
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def table_record(table: Table) -> dict[str, Any]:
    frame = table.frame
    # A named or non-default index is a column of the table (the router's name, the held-out model); a plain
    # 0..n-1 index is not.
    if not isinstance(frame.index, pd.RangeIndex) or any(n is not None for n in frame.index.names):
        frame = frame.reset_index()
    frame = frame.rename(columns=str)
    rows = [{k: jsonable(v) for k, v in row.items()} for row in frame.to_dict("records")]
    return {"title": table.title, "columns": list(frame.columns), "rows": rows,
            "formats": {str(k): v for k, v in table.formats.items()}}


def as_tables(tables: Mapping[str, pd.DataFrame] | Iterable[Table]) -> list[Table]:
    if isinstance(tables, Mapping):
        return [Table(title, frame) for title, frame in tables.items()]
    return list(tables)


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder: readers see the old file or the new one."""
    files.write_text_atomic(path, text)


def write_result(name: str, command: str | None, tables: Mapping[str, pd.DataFrame] | Iterable[Table],
                 notes: Iterable[str] | None = None, seconds: float | None = None, *,
                 summary: Mapping[str, Any] | Iterable[Mapping[str, Any]] | None = None,
                 results_dir: Path | str | None = None) -> Path:
    """Write benchmarks/results/<name>.json atomically and return its path.

    Args:
        name: the file's stem; `benchmark-subset` (routing_quality-alpacaeval2) groups under `benchmark` in the report.
        command: the command line (None: this process's, from `command_line()`).
        tables: {title: DataFrame} or Table objects, in print order.
        notes: lines printed under the tables.
        seconds: the run's wall time.
        summary: one row (dict) or several for the README's compact table.
    """
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"result name {name!r}: expected a file stem such as routing_quality-alpacaeval2")
    rows = [summary] if isinstance(summary, Mapping) else list(summary or [])
    payload = {
        "format_version": FORMAT_VERSION,
        "benchmark": name.split("-", 1)[0],
        "name": name,
        "command": command if command is not None else command_line(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": jsonable(seconds),
        "machine": machine_facts(),
        "tables": [table_record(t) for t in as_tables(tables)],
        "notes": [str(n) for n in notes or []],
        "summary": [{str(k): jsonable(v) for k, v in row.items()} for row in rows],
    }
    path = Path(results_dir or RESULTS_DIR) / f"{name}.json"
    write_text_atomic(path, json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    return path
