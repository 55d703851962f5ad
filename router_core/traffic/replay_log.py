"""A decision log written from a replay: what the server would have recorded for each request of a past log, at the
log's own timestamps, through the same λ policy and controller (the Monitoring page's demo on the sample data).
Routing and upstream latency are not recorded (nothing was served); costs are charged as the replay charges them."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from router_core.decisionlog.schema import log_path
from router_core.decisionlog.store import DecisionLog, compact
from router_core.errors import RouterInputError
from router_core.live.policy import Budget, LambdaPolicy
from router_core.traffic.replay import replay
from router_core.traffic.report import suggested_daily_budget
from router_core.traffic.scored_log import ScoredLog
from router_core.traffic.simulate import prepare_log

BUDGET_FILE = "budget.json"  # beside a kept replay: the daily budget it was replayed at


def write_replay_log(log: ScoredLog, policy: LambdaPolicy, rule, folder: str | Path, policy_name: str = "linear") -> Path:
    """Replay `log` under `policy` and write one decision record per request into folder/decisions.sqlite (replaced)."""
    folder = Path(folder)
    target = log_path(folder)
    if target.exists():
        target.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    result = replay(log, policy, rule)
    writer = DecisionLog(folder)
    names = list(log.candidates)
    seconds = pd.DatetimeIndex(log.timestamps).as_unit("ns").asi8 / 1e9
    groups = log.groups or {}
    prompts, lams, models = (result.requests[c].to_numpy() for c in ("prompt", "lam", "model"))
    charged, predicted = result.requests["charged_usd"].to_numpy(), result.requests["predicted_cost_usd"].to_numpy()
    for row in np.argsort(seconds, kind="stable").tolist():  # in time order, as a server writes them
        p, model = int(prompts[row]), str(models[row])
        per = {m: {"weight": float(log.weights[p, j]), "predicted_quality": float(log.quality[p, j]),
                   "predicted_cost_usd": float(log.cost[p, j])} for j, m in enumerate(names)}
        writer.append({"ts": float(seconds[row]),
                       "request_id": f"replay-{row}", "user": _text(groups.get("user"), row),
                       "team": _text(groups.get("team"), row), "lam": float(lams[row]), "lam_source": policy.source,
                       "policy": policy_name, "top_k": 1, "candidates": per, "called": [model], "model": model,
                       "cost_usd": float(charged[row]), "predicted_cost_usd": float(predicted[row]), "status": "ok"})
    writer.close()
    compact(target)  # a shipped or cached file: as small as it can be, with no write-ahead log beside it
    return target


def _text(series, row: int):
    if series is None:
        return None
    value = series.iloc[row]
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def replayed_decisions(source: str | Path, router, cache_dir: str | Path, budget_usd: float | None = None,
                       catalog=None) -> tuple[Path, float]:
    """A scored request log (a `score-log` file or folder of parts) replayed through the budget controller into a
    decision log the Monitoring page reads, kept under `cache_dir` by the log's content, router, prices and budget;
    a kept replay is returned without reading the log again.

    Returns (decision log file, daily budget used: `budget_usd`, else the log's suggested one).
    Raises RouterInputError when `source` is not a scored log of this router."""
    from router_core.traffic.log_scoring import (  # pyarrow: for scored logs only
        is_scored_log,
        scored_log_identity,
    )

    source = Path(source)
    if not is_scored_log(source):
        raise RouterInputError(f"{source}: neither a decision log nor a scored request log (`score-log --out`)")
    asked = f"{float(budget_usd):.10g}" if budget_usd else "suggested"
    parts = [scored_log_identity(source), router.id, catalog.digest if catalog is not None else "router prices", asked]
    key = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]
    folder = Path(cache_dir) / "replays" / key
    if not log_path(folder).is_file():
        prepared = prepare_log(router, source, catalog, name=source.name)
        budget = float(budget_usd) if budget_usd else suggested_daily_budget(prepared.scored)
        temp = folder.with_name(f".{key}.{uuid.uuid4().hex}")
        try:
            write_replay_log(prepared.scored, LambdaPolicy(budget=Budget(budget)), router.policy("linear"), temp)
            (temp / BUDGET_FILE).write_text(json.dumps({"daily_usd": budget}), encoding="utf-8")
            try:
                os.replace(temp, folder)  # readers see a whole replay or none
            except OSError:
                if not log_path(folder).is_file():
                    raise
                # another session finished the same replay first
        finally:
            shutil.rmtree(temp, ignore_errors=True)
    return log_path(folder), float(json.loads((folder / BUDGET_FILE).read_text(encoding="utf-8"))["daily_usd"])
