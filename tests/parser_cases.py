"""Generated files for every parser a user feeds, each with the truth it encodes, and a judge of what a parser made of it.

A case is valid (the parser must return exactly the generated values) or corrupted in a known way (the parser must
raise RouterInputError, or for request logs set exactly the corrupted rows aside). `judge` returns one of OUTCOMES;
any exception other than RouterInputError escapes from it as a crash. Shared by tests/test_parser_properties.py and
benchmarks/reliability_parsers.py.
"""
from __future__ import annotations

import io
import json
import math
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from hypothesis import strategies as st

from router_core.data.catalog import load_catalog
from router_core.data.labelled import load_labelled
from router_core.data.request_log import iter_request_log, load_request_log
from router_core.errors import RouterInputError

OUTCOMES = ("ok", "clear_error", "wrongly_refused", "silent_corruption")
TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12).filter(lambda t: t.strip() == t and t)
NAME = st.from_regex(r"[a-z][a-z0-9_.\-]{0,8}", fullmatch=True)
FRACTION = st.floats(0, 1, allow_nan=False)
PRICE = st.floats(0, 1e4, allow_nan=False)
EARLIEST, LATEST = pd.Timestamp("1990-01-02", tz="UTC"), pd.Timestamp("2099-12-30", tz="UTC")


@dataclass
class Case:
    parser: str
    name: str  # file name: its suffix gives the format
    data: bytes
    truth: dict  # what a correct parse returns
    corruption: str | None = None  # None: a valid file
    bad_rows: list = field(default_factory=list)  # request logs: 1-based rows that must be set aside


def _table_bytes(frame: pd.DataFrame, suffix: str) -> bytes:
    if suffix == ".csv":
        return frame.to_csv(index=False).encode()
    if suffix == ".jsonl":  # json.dumps keeps every float digit; pandas' writer rounds
        return "".join(json.dumps(r, default=str) + "\n" for r in frame.to_dict("records")).encode()
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


# ---------------------------------------------------------------- labelled sets

LABELLED_CORRUPTIONS = (None, "empty_id", "bad_quality", "empty_model", "two_texts", "negative_cost", "missing_row",
                        "bool_quality")


@st.composite
def labelled_cases(draw) -> Case:
    ids = draw(st.lists(TEXT, min_size=1, max_size=4, unique=True))
    texts = draw(st.lists(TEXT, min_size=len(ids), max_size=len(ids)))
    models = ["m_" + m for m in draw(st.lists(NAME, min_size=1, max_size=3, unique=True))]
    quality = np.array(draw(st.lists(FRACTION, min_size=len(ids) * len(models), max_size=len(ids) * len(models))))
    cost = np.array(draw(st.lists(PRICE, min_size=len(ids) * len(models), max_size=len(ids) * len(models))))
    quality, cost = quality.reshape(len(ids), len(models)), cost.reshape(len(ids), len(models)) / 1e3
    suffix = draw(st.sampled_from([".csv", ".jsonl", ".parquet"]))
    wide = draw(st.booleans())
    corruption = draw(st.sampled_from(LABELLED_CORRUPTIONS))
    rows = [{"query_id": q, "query": t, "model": m, "quality": float(quality[i, j]), "cost_usd": float(cost[i, j])}
            for i, (q, t) in enumerate(zip(ids, texts)) for j, m in enumerate(models)]
    frame = pd.DataFrame(rows, dtype=object)
    if wide:
        frame = pd.DataFrame({"query_id": ids, "query": texts, **{m: quality[:, j] for j, m in enumerate(models)},
                              **{m + "|total_cost": cost[:, j] for j, m in enumerate(models)}}).astype(object)
    at = draw(st.integers(0, len(frame) - 1))
    if corruption == "empty_id":
        frame.loc[at, "query_id"] = draw(st.sampled_from(["", None, "  "]))
    elif corruption == "bad_quality":
        column = models[0] if wide else "quality"
        frame.loc[at, column] = draw(st.sampled_from(["good", 1.5, -0.1, math.nan, math.inf, ""]))
    elif corruption == "bool_quality" and suffix != ".csv":
        frame.loc[at, models[0] if wide else "quality"] = True
    elif corruption == "empty_model" and not wide:
        frame.loc[at, "model"] = draw(st.sampled_from(["", None]))
    elif corruption == "two_texts" and not wide and len(models) > 1:
        frame.loc[at, "query"] = frame.loc[at, "query"] + " changed"
    elif corruption == "negative_cost":
        frame.loc[at, models[0] + "|total_cost" if wide else "cost_usd"] = -1.0
    elif corruption == "missing_row" and not wide and len(models) > 1 and len(ids) > 1:  # one query alone: a valid smaller set
        frame = frame.drop(index=at).reset_index(drop=True)
    else:
        corruption = None
    if suffix == ".parquet":  # Parquet columns hold one type: keep mixed corrupted cells as text
        frame = frame.astype({c: str for c in frame.columns if frame[c].map(type).nunique() > 1})
    return Case("labelled set", "set" + suffix, _table_bytes(frame, suffix),
                {"ids": ids, "texts": texts, "models": models, "quality": quality, "cost": cost}, corruption)


def _judge_labelled(case: Case):
    data = load_labelled(io.BytesIO(case.data), name=case.name)
    truth = case.truth
    return (list(data.query_ids) == truth["ids"] and data.queries == truth["texts"] and data.candidates == truth["models"]
            and np.array_equal(data.quality, truth["quality"]) and np.array_equal(data.cost, truth["cost"]))


# ---------------------------------------------------------------- request logs

LOG_SHAPES = ("plain", "spendlogs", "messages")
BAD_LOG_CELLS = {  # canonical field -> cells that must set their row aside
    "timestamp": ["now", "today", "12:00", "not a time", 5, -1_000_000_000, 5 * 10**18, True, "1e30"],
    "prompt": ["", "   ", None],
    "cost": ["abc", "-5", -5, "inf", math.inf, True],
    "messages": ['[{"role": "user"', '[{"role": "assistant", "content": "x"}]', '{"content": 5}'],
}


@st.composite
def log_cases(draw) -> Case:
    shape = draw(st.sampled_from(LOG_SHAPES))
    suffix = draw(st.sampled_from([".csv", ".jsonl", ".parquet"]))
    n = draw(st.integers(1, 8))
    times = draw(st.lists(st.datetimes(min_value=EARLIEST.tz_localize(None).to_pydatetime(),
                                       max_value=LATEST.tz_localize(None).to_pydatetime()), min_size=n, max_size=n))
    times = [pd.Timestamp(t, tz="UTC") for t in times]
    time_style = draw(st.sampled_from(["iso", "seconds", "millis", "mixed"]))
    prompts = draw(st.lists(TEXT.filter(lambda t: t[0] not in "[{"), min_size=n, max_size=n))
    costs = draw(st.lists(st.one_of(st.none(), st.floats(0, 100, allow_nan=False)), min_size=n, max_size=n))
    time_col, prompt_col, cost_col = {"plain": ("timestamp", "prompt", "cost_usd"),
                                      "spendlogs": ("startTime", "messages", "spend"),
                                      "messages": ("created_at", "messages", "cost")}[shape]
    cells = []
    for i, (t, p) in enumerate(zip(times, prompts)):
        style = draw(st.sampled_from(["iso", "seconds", "millis"])) if time_style == "mixed" else time_style
        if style != "iso":  # whole seconds (or ms), the precision an epoch column carries
            t = t.floor("s" if style == "seconds" else "ms")
            times[i] = t
        stamp = {"iso": t.isoformat().replace("+00:00", "Z"), "seconds": int(t.timestamp()),
                 "millis": int(t.value // 10**6)}[style]
        prompt = json.dumps([{"role": "system", "content": "be brief"}, {"role": "user", "content": p}]) if shape != "plain" else p
        cells.append({time_col: stamp, prompt_col: prompt, cost_col: costs[i]})
    if shape == "spendlogs":
        for row in cells:
            row.update(model="gpt-4o", prompt_tokens=12, completion_tokens=30, api_key_alias="team-a")
    bad_rows = sorted(draw(st.sets(st.integers(0, n - 1), max_size=n)))
    for i in bad_rows:
        field_name = draw(st.sampled_from(["timestamp", "prompt", "cost"] + (["messages"] if shape != "plain" else [])))
        column = {"timestamp": time_col, "prompt": prompt_col, "cost": cost_col, "messages": prompt_col}[field_name]
        cells[i][column] = draw(st.sampled_from(BAD_LOG_CELLS[field_name]))
    frame = pd.DataFrame(cells, dtype=object)
    if suffix == ".parquet":
        frame = frame.astype({c: str for c in frame.columns if frame[c].map(type).nunique() > 1 and c != cost_col})
        if frame[cost_col].map(type).nunique() > 1:
            frame[cost_col] = frame[cost_col].map(lambda v: None if v is None else str(v))
    truth = {"timestamps": times, "prompts": prompts, "costs": costs, "n": n}
    return Case("request log", "log" + suffix, _table_bytes(frame, suffix), truth,
                "bad rows" if bad_rows else None, [i + 1 for i in bad_rows])


def _judge_log(case: Case, chunk_rows: int = 3):
    truth, good = case.truth, [i for i in range(case.truth["n"]) if i + 1 not in case.bad_rows]
    log = load_request_log(io.BytesIO(case.data), name=case.name)
    if len(log.frame) + len(log.rejected) != truth["n"] or log.rejected["row"].tolist() != case.bad_rows:
        return False
    costs = log.frame["cost_usd"].tolist() if "cost_usd" in log.frame else [None] * len(good)
    expected_costs = [truth["costs"][i] for i in good]
    if (log.frame["timestamp"].tolist() != [truth["timestamps"][i] for i in good]
            or log.frame["prompt"].tolist() != [truth["prompts"][i] for i in good]
            or not all((e is None and math.isnan(c)) or c == e for c, e in zip(costs, expected_costs))):
        return False
    with tempfile.TemporaryDirectory() as folder:  # the streaming reader must agree with the whole-file one
        path = Path(folder) / case.name
        path.write_bytes(case.data)
        chunks = list(iter_request_log(path, chunk_rows=chunk_rows))
    streamed = pd.concat([c.frame for c in chunks], ignore_index=True)
    return (streamed["timestamp"].tolist() == log.frame["timestamp"].tolist()
            and streamed["prompt"].tolist() == log.frame["prompt"].tolist()
            and sum(len(c.rejected) for c in chunks) == len(log.rejected))


# ---------------------------------------------------------------- catalogs (CSV / JSON tables)

CATALOG_CORRUPTIONS = (None, "empty_name", "bool_price", "text_price", "negative_price", "duplicate_name")


@st.composite
def catalog_cases(draw) -> Case:
    names = draw(st.lists(NAME, min_size=1, max_size=4, unique=True))
    prices = draw(st.lists(st.tuples(PRICE, PRICE), min_size=len(names), max_size=len(names)))
    rows = [{"name": n, "provider_model_id": f"x/{n}", "input_usd_per_1m": a, "output_usd_per_1m": b}
            for n, (a, b) in zip(names, prices)]
    suffix = draw(st.sampled_from([".csv", ".json"]))
    corruption = draw(st.sampled_from(CATALOG_CORRUPTIONS))
    at = draw(st.integers(0, len(rows) - 1))
    if corruption == "empty_name":
        rows[at]["name"] = draw(st.sampled_from(["", None, "  "]))
    elif corruption == "bool_price" and suffix == ".json":
        rows[at]["input_usd_per_1m"] = True
    elif corruption == "text_price":
        rows[at]["output_usd_per_1m"] = draw(st.sampled_from(["cheap", "$1", "1,5"]))
    elif corruption == "negative_price":
        rows[at]["input_usd_per_1m"] = -1.0
    elif corruption == "duplicate_name" and len(rows) > 1:
        rows[at]["name"] = rows[at - 1]["name"]
    else:
        corruption = None
    data = pd.DataFrame(rows, dtype=object).to_csv(index=False).encode() if suffix == ".csv" else json.dumps(rows).encode()
    return Case("catalog table", "catalog" + suffix, data, {"names": names, "prices": prices}, corruption)


def _judge_catalog(case: Case):
    catalog = load_catalog(io.BytesIO(case.data), name=case.name)
    return (catalog.names == case.truth["names"]
            and [(c.input_usd_per_1m, c.output_usd_per_1m) for c in catalog.candidates] == [tuple(p) for p in case.truth["prices"]])


# ---------------------------------------------------------------- LiteLLM config.yaml

JUNK = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-5, 5), TEXT),
                    lambda children: st.lists(children, max_size=3) | st.dictionaries(NAME, children, max_size=3), max_leaves=6)
NOT_A_PRICE = st.one_of(st.booleans(), TEXT.filter(lambda t: not _is_float(t)), st.lists(st.integers(), max_size=2),
                        st.just(-1e-6), st.just("nan"))
LITELLM_SLOTS = (None, "entry", "litellm_params", "model_info", "price", "model_name", "model", "top", "model_list")


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@st.composite
def litellm_cases(draw) -> Case:
    names = draw(st.lists(NAME, min_size=1, max_size=4, unique=True))
    prices = draw(st.lists(st.tuples(PRICE, PRICE), min_size=len(names), max_size=len(names)))
    entries = [{"model_name": n, "litellm_params": {"model": f"openai/{n}"},
                "model_info": {"input_cost_per_token": a / 1e6, "output_cost_per_token": b / 1e6}}
               for n, (a, b) in zip(names, prices)]
    config = {"model_list": entries, "general_settings": {"master_key": "sk-1"}}
    slot = draw(st.sampled_from(LITELLM_SLOTS))
    at = draw(st.integers(0, len(entries) - 1))
    if slot == "entry":
        entries[at] = draw(st.one_of(TEXT, st.lists(JUNK, max_size=3), st.integers()))
    elif slot in ("litellm_params", "model_info"):
        entries[at][slot] = draw(st.one_of(TEXT, st.lists(JUNK, min_size=1, max_size=3), st.integers(), st.booleans()))
    elif slot == "price":
        entries[at]["model_info"][draw(st.sampled_from(["input_cost_per_token", "output_cost_per_token"]))] = draw(NOT_A_PRICE)
    elif slot == "model_name":
        entries[at]["model_name"] = draw(st.sampled_from([None, "", [1], True, {"a": 1}]))
    elif slot == "model":
        entries[at]["litellm_params"]["model"] = draw(st.sampled_from([None, "", [1], 3, {"a": 1}]))
    elif slot == "top":
        config = draw(st.one_of(TEXT, st.lists(JUNK, max_size=3), st.integers(), st.none()))
    elif slot == "model_list":
        config["model_list"] = draw(st.one_of(TEXT, st.integers(), st.dictionaries(NAME, JUNK, max_size=2), st.none()))
    per_1m = [tuple(float(Decimal(repr(p / 1e6)) * 1_000_000) for p in pair) for pair in prices]  # the file's decimals, exactly
    truth = {"names": names, "prices": per_1m}
    return Case("LiteLLM config.yaml", "config.yaml", yaml.safe_dump(config, allow_unicode=True).encode(), truth, slot)


# ---------------------------------------------------------------- judging

PARSERS = {"labelled set": (labelled_cases, _judge_labelled), "request log": (log_cases, _judge_log),
           "catalog table": (catalog_cases, _judge_catalog), "LiteLLM config.yaml": (litellm_cases, _judge_catalog)}


def judge(case: Case) -> str:
    """One of OUTCOMES. A valid case must parse to its truth; a corrupted one must be refused (logs: rows set aside)."""
    check = PARSERS[case.parser][1]
    rows_only = case.parser == "request log" and case.corruption is not None and len(case.bad_rows) < case.truth["n"]
    try:
        correct = check(case)
    except RouterInputError:
        return "clear_error" if case.corruption is not None and not rows_only else "wrongly_refused"
    if case.corruption is not None and not rows_only:
        return "silent_corruption"  # a corrupted file accepted whole
    return "ok" if correct else "silent_corruption"
