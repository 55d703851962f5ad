"""What the dashboard shows on the bundled sample data, computed once when the sample router is built and shipped
beside it (sample_data/views/), so a cold dashboard opens at once instead of fitting every baseline and scoring the
two-week log on its first visit.

The folder holds the router-vs-baselines evaluation on the sample set's held-out split (table, curves, the router's
scores of those queries) and the sample log scored by `score-log`. Its manifest records the router id, the catalog
digest and the sha256 of the two sample files: when any of them differs (a retrained router, edited prices, a
regenerated sample) the views are not used and the dashboard computes them as before.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from safetensors import SafetensorError
from safetensors.numpy import load as load_arrays
from safetensors.numpy import save as save_arrays

from router_core.data.catalog import Catalog
from router_core.data.labelled import load_labelled
from router_core.decisionlog.schema import log_path
from router_core.errors import RouterInputError
from router_core.evaluation.comparison import (
    ROUTER_ROW,
    Evaluation,
    default_lams_for_comparison,
    evaluate_router,
    repriced_baselines,
)
from router_core.files import file_sha256, staging_folder, swap_into_place
from router_core.model.scores import Scores
from router_core.policy.curves import compare, curve_from_scores

VIEWS_DIR = "views"
MANIFEST = "manifest.json"
SCORED_LOG = "request_log.scored.parquet"
BASELINE_PREDICTIONS = "baseline_predictions.safetensors"  # price-free: a price edit re-prices them, no refit
FORMAT_VERSION = 2
TEST_FRACTION, SPLIT_SEED = 0.2, 0  # evaluate_router's defaults: the split `train` keeps unseen for the sample router


SAMPLE_FILES = {"labelled_sha256": "labelled.csv", "request_log_sha256": "request_log.csv"}


def views_key(router, catalog, sample_dir: Path, fields=None) -> dict:
    """What the views depend on: the router, the prices and the two sample files (only `fields`, if given: hashing a
    file nobody asked about is wasted work)."""
    wanted = set(fields) if fields is not None else None
    key = {"format_version": FORMAT_VERSION, "router_id": router.id, "catalog": catalog.digest if catalog is not None else None}
    for field, name in SAMPLE_FILES.items():
        if wanted is None or field in wanted:
            key[field] = file_sha256(sample_dir / name)
    return key


def _scores_arrays(scores: Scores) -> dict[str, np.ndarray]:
    lengths = np.array([len(a) for a in scores.attention], dtype=np.int64)
    attention = (np.concatenate(scores.attention) if len(scores.attention) else np.zeros((0, len(scores.candidates))))
    arrays = {"weights": scores.weights, "quality": scores.quality, "cost": scores.cost, "input_tokens": scores.input_tokens,
              "answer_tokens": scores.answer_tokens, "attention": attention, "attention_lengths": lengths}
    return {k: np.ascontiguousarray(v) for k, v in arrays.items()}  # safetensors writes the buffer as it lies in memory


def _write_frame(frame: pd.DataFrame, path: Path) -> None:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=True), path)


def precompute(router, sample_dir: str | Path, progress=None) -> Path:
    """Evaluate the router against every baseline on the sample set and score the sample log; write sample_dir/views.

    The folder is written beside and swapped into place, so a reader sees the old views or the new ones.
    Args:
        progress: callable(message) told what is being computed.
    """
    sample_dir = Path(sample_dir)
    say = progress or (lambda message: None)
    from router_core.traffic.log_scoring import (
        score_log,  # pyarrow's writer path: only when the views are built
    )

    catalog = router.catalog
    key = views_key(router, catalog, sample_dir)
    say("evaluating the router and every baseline on the sample set's held-out split")
    data = load_labelled(sample_dir / "labelled.csv", router.catalog)
    evaluation = evaluate_router(router, data, catalog=catalog, test_fraction=TEST_FRACTION, seed=SPLIT_SEED)
    target = sample_dir / VIEWS_DIR
    staging = staging_folder(target)
    try:
        _write_frame(evaluation.table, staging / "table.parquet")
        names = list(evaluation.curves)
        for i, name in enumerate(names):
            _write_frame(evaluation.curves[name], staging / f"curve_{i}.parquet")
        (staging / "scores.safetensors").write_bytes(save_arrays(_scores_arrays(evaluation.scores)))
        (staging / BASELINE_PREDICTIONS).write_bytes(save_arrays(
            {f"{name}/{field}": np.ascontiguousarray(values) for name, fields in evaluation.baseline_predictions.items()
             for field, values in fields.items()}))
        say("scoring the sample request log")
        score_log(sample_dir / "request_log.csv", router, staging / SCORED_LOG, catalog=catalog)
        say("replaying the scored log through a daily budget into a demo decision log")
        demo_budget = _write_demo_decisions(router, staging)
        manifest = {**key, "backend": router.backend, "prices": _prices(catalog, data.candidates),
                    "scored_at": catalog.to_dict() if catalog is not None else None, "curves": names,
                    "n_train": evaluation.n_train, "n_test": len(evaluation.test), "demo_budget_usd": demo_budget}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        swap_into_place(staging, target)
    except BaseException:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


DEMO_BUDGET_SHARE = 0.6  # the demo decision log's daily budget, as a share of sending everything to the dearest model


def _write_demo_decisions(router, folder: Path) -> float:
    """The Monitoring page's demo: the scored sample log replayed through the budget controller as decision records."""
    from router_core.live.policy import Budget, LambdaPolicy
    from router_core.traffic.replay_log import write_replay_log
    from router_core.traffic.simulate import prepare_log

    log = prepare_log(router, folder / SCORED_LOG, router.catalog).scored
    dearest = int(np.argmax(log.cost.mean(axis=0)))
    budget = round(DEMO_BUDGET_SHARE * float(log.cost[log.prompt_index, dearest].sum()) / log.n_days, 4)
    write_replay_log(log, LambdaPolicy(budget=Budget(budget)), router.policy("linear"), folder)
    return budget


def demo_decisions(sample_dir: str | Path) -> tuple[Path, float] | None:
    """The shipped demo decision log and its daily budget, if present."""
    folder = Path(sample_dir) / VIEWS_DIR
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    path = log_path(folder)
    return (path, float(manifest["demo_budget_usd"])) if path.is_file() and manifest.get("demo_budget_usd") else None


def _manifest(router, catalog, sample_dir: Path, fields: tuple[str, ...]) -> dict | None:
    """The views' manifest if they were computed for this router and sample (and prices, if "catalog" is in `fields`)."""
    path = sample_dir / VIEWS_DIR / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        key = views_key(router, catalog, sample_dir, fields)
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or any(manifest.get(k) != key[k] for k in fields):
        return None
    return manifest


def _prices(catalog, names) -> dict | None:
    """Each named model's prices in the catalog (what the baselines' measured costs depend on), or None."""
    if catalog is None:
        return None
    entries = {c.name: c for c in catalog.candidates}
    return {n: [entries[n].input_usd_per_1m, entries[n].output_usd_per_1m] if n in entries else None for n in names}


def load_evaluation(router, catalog, sample_dir: str | Path) -> Evaluation | None:
    """The sample evaluation from the shipped views, or None when they cannot give it (then evaluate as usual).

    Nothing is fitted. Baselines never depend on the router: at the views' prices they are read back, at edited
    prices they are re-priced from their cached price-free predictions. The router's curve is read back for the
    router the views were computed with (its stored scores re-priced when the prices changed) and computed afresh for
    another one (one with an added model, or trained anew): seconds of encoding instead of minutes of fitting. The
    held-out queries are re-read from labelled.csv and split as evaluate_router splits them.
    """
    sample_dir = Path(sample_dir)
    manifest = _manifest(router, catalog, sample_dir, ("format_version", "labelled_sha256"))
    if manifest is None:
        return None
    same_router = manifest.get("router_id") == router.id
    folder = sample_dir / VIEWS_DIR
    try:
        data = load_labelled(sample_dir / "labelled.csv", router.catalog, name="labelled.csv")
        if any(c not in router.candidates for c in data.candidates):
            return None
        same_prices = manifest.get("prices") == _prices(catalog, data.candidates)
        if catalog is not None and data.input_tokens is not None and data.output_tokens is not None:
            data = data.repriced(catalog)
        train, test = data.split(TEST_FRACTION, SPLIT_SEED)
        table = pq.read_table(folder / "table.parquet").to_pandas()
        curves = {name: pq.read_table(folder / f"curve_{i}.parquet").to_pandas() for i, name in enumerate(manifest["curves"])}
        if not same_prices:
            if catalog is None:
                return None
            predictions = _baseline_predictions(folder / BASELINE_PREDICTIONS)
            repriced = repriced_baselines([n for n in curves if n != ROUTER_ROW], predictions, train, test, catalog)
            if repriced is None:
                return None
            baselines = compare(repriced, test).assign(fit_seconds=table["fit_seconds"].drop(index=ROUTER_ROW))
            table = pd.concat([table.loc[[ROUTER_ROW]], baselines])
            curves = {ROUTER_ROW: curves[ROUTER_ROW], **repriced}
        if same_router:
            arrays = load_arrays((folder / "scores.safetensors").read_bytes())
            attention = np.split(arrays["attention"], np.cumsum(arrays["attention_lengths"])[:-1]) if len(test) else []
            cost = arrays["cost"]
            if catalog is not None and manifest.get("scored_at") is not None:
                cost = router.pricing.repriced(cost, arrays["input_tokens"], arrays["answer_tokens"],
                                               Catalog.from_dict(manifest["scored_at"]), catalog)
            scores = Scores(list(test.queries), list(router.candidates), arrays["weights"], arrays["quality"], cost,
                            arrays["input_tokens"], arrays["answer_tokens"], attention)
        else:
            scores = router.scores(test.queries, catalog=catalog).only(list(test.candidates))
        if not (same_router and same_prices):
            curve = curve_from_scores(scores.quality, scores.cost, test, default_lams_for_comparison(),
                                      router.policy("linear"), weights=scores.weights)
            row = compare({ROUTER_ROW: curve}, test).assign(fit_seconds=router.training.seconds)
            table = pd.concat([row, table.drop(index=ROUTER_ROW)])
            curves = {ROUTER_ROW: curve, **{k: v for k, v in curves.items() if k != ROUTER_ROW}}
    except (OSError, KeyError, ValueError, RouterInputError, pa.ArrowException, SafetensorError):
        return None  # damaged views are only a lost shortcut: the caller evaluates from scratch
    if scores.quality.shape != test.quality.shape or len(test) != manifest.get("n_test") or len(train) != manifest.get("n_train"):
        return None
    unscored = tuple(c for c in router.candidates if c not in test.candidates)
    return Evaluation(table, curves, test, scores, len(train), unscored)


def _baseline_predictions(path: Path) -> dict[str, dict[str, np.ndarray]]:
    predictions: dict[str, dict[str, np.ndarray]] = {}
    for key, values in load_arrays(path.read_bytes()).items():
        name, field = key.rsplit("/", 1)
        predictions.setdefault(name, {})[field] = values
    return predictions


def scored_log_path(router, catalog, sample_dir: str | Path) -> Path | None:
    """The sample log as scored by this router, if the views match; prepare_log opens it without encoding and
    re-prices it for edited prices (its token counts are stored)."""
    sample_dir = Path(sample_dir)
    if _manifest(router, catalog, sample_dir, ("format_version", "router_id", "request_log_sha256")) is None:
        return None
    path = sample_dir / VIEWS_DIR / SCORED_LOG
    return path if path.is_file() else None
