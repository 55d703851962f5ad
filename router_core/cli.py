"""`python -m router_core VERB ...` (also `crossroute VERB ...`): train, evaluate, route, route-batch, score-log, simulate,
replay, serve, litellm-config, prices, feedback, learn, evaluate-policy, decisions,
export-onnx, upgrade, sample-data."""
from __future__ import annotations

import argparse
import dataclasses
import errno
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from router_core.errors import RouterInputError
from router_core.files import write_text_atomic
from router_core.policy.rule import POLICIES, check_lam

# Each verb imports what it uses inside its function: `--help` and `route` must not pay for training, baselines,
# pyarrow or the ONNX exporter.

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data"
DEFAULT_ROUTER = SAMPLE_DIR / "router"
MAX_LAMS = 1001  # every λ adds a row per query to the decisions file
# Characters that would move the cursor, recolour or reorder the terminal when a user's text is echoed.
BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
OSERROR_WORDS = {errno.ENOENT: "no such file or folder", errno.EACCES: "permission denied", errno.EPERM: "permission denied",
                 errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
                 errno.EROFS: "read-only file system", errno.EISDIR: "is a folder, expected a file",
                 errno.ENOTDIR: "part of the path is a file, not a folder",
                 errno.EEXIST: "already exists and is not a folder"}
WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


def printable(text: str) -> str:
    """`text` with control and bidi characters shown as escapes (\\x1b, \\n, \\u202e): one inert line on a terminal."""
    return "".join(ch.encode("unicode_escape").decode("ascii") if ch in BIDI_CONTROLS or (ord(ch) < 32 or 127 <= ord(ch) < 160)
                   else ch for ch in str(text))


def _progression(parts: list[str], usage: str) -> list[float]:
    """'a', 'b', '...', 'z' -> a, b, … z in steps of b − a (z must be reached exactly, to rounding)."""
    if len(parts) != 4 or parts[2] != "...":
        raise RouterInputError(f"{usage}; '...' goes between the first two values and the last, as 0,0.05,...,1")
    first, second, last = float(parts[0]), float(parts[1]), float(parts[3])
    step = second - first
    if not (math.isfinite(step) and math.isfinite(last) and step > 0 and last >= second):
        raise RouterInputError(f"{usage}; with '...' the values must rise (first < second <= last)")
    intervals = (last - first) / step
    if intervals + 1 > MAX_LAMS:
        raise RouterInputError(f"{usage}; at most {MAX_LAMS} values, got {int(intervals) + 1}")
    if abs(intervals - round(intervals)) > 1e-6:
        raise RouterInputError(f"{usage}; steps of {step:g} from {first:g} do not reach {last:g}")
    return np.linspace(first, last, int(round(intervals)) + 1).tolist()


def _lams(text: str) -> np.ndarray:
    """'0,0.5,1', '0,0.05,...,1' or 'start:stop:count' (e.g. 0:1:21) -> λ values, each in [0, 1]."""
    usage = (f"--lams {text!r}: expected comma-separated numbers in [0, 1] (0,0.5,1), a progression (0,0.05,...,1) "
             "or start:stop:count (0:1:21)")
    parts = [x.strip() for x in text.split(",") if x.strip()]
    try:
        if ":" in text:
            start, stop, count = text.split(":")
            start, stop, count = float(start), float(stop), int(count)
        else:
            values = [float(x) for x in parts if x != "..."]
    except ValueError as e:
        raise RouterInputError(usage) from e
    if "..." in parts and ":" not in text:
        values = _progression(parts, usage)
    if ":" in text:
        if not 1 <= count <= MAX_LAMS:
            raise RouterInputError(f"{usage}; the count must be 1 to {MAX_LAMS}, got {count}")
        values = np.linspace(start, stop, count).tolist() if math.isfinite(start) and math.isfinite(stop) else [start, stop]
    if not values:
        raise RouterInputError(f"{usage}; it gives no λ value")
    if len(values) > MAX_LAMS:
        raise RouterInputError(f"{usage}; at most {MAX_LAMS} values, got {len(values)}")
    outside = [x for x in values if not (math.isfinite(x) and 0.0 <= x <= 1.0)]
    if outside:
        raise RouterInputError(f"{usage}; {outside[0]:g} is outside [0, 1]")
    return np.array(values)


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one `error:` line (exit 2) like every other error, pointing to --help."""

    def error(self, message: str):
        print(printable(f"error: {message} (see {self.prog} --help)"), file=sys.stderr)
        sys.exit(2)


def _load_router(args):
    """The router of --router, scoring with --backend, its scores kept in the user's cache folder unless --no-cache."""
    from router_core.model.score_cache import default_cache_dir
    from router_core.router import Router

    return Router.load(args.router, backend=args.backend, cache_dir=None if args.no_cache else default_cache_dir())


LOG_HELP = ("folder of the decision log (default $CROSSROUTE_DECISIONS, else $XDG_DATA_HOME/crossroute/decisions, "
            "else ~/.local/share/crossroute/decisions)")


def _log_dir(args) -> Path:
    from router_core.decisionlog.store import default_log_dir

    return args.log if args.log is not None else default_log_dir()


def _calibration_option(parser) -> None:
    parser.add_argument("--no-calibration", action="store_true",
                        help="use the router's predicted costs as they are (default: where the log records model and "
                             "cost, each model's predicted cost is scaled by its measured ÷ predicted on the log)")


def _log_mapping_options(parser) -> None:
    parser.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                        help="map a log column by hand, e.g. --map prompt=body or --map model=model_group (repeatable)")
    parser.add_argument("--date-order", choices=("day-first", "month-first"),
                        help="how the log writes dates such as 05/03/2024 (default: as its values show)")


def _router_options(parser) -> None:
    from router_core.model.onnx_backend import BACKENDS

    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="what computes the scores: auto (the artifact's ONNX export if it has one, else torch; default), "
                             "torch, onnx, onnx-fp32 or onnx-int8")
    parser.add_argument("--no-cache", action="store_true",
                        help="do not read or write the score cache ($CROSSROUTE_CACHE_DIR, default ~/.cache/crossroute)")


def _load_catalog(path):
    from router_core.data.catalog import load_catalog

    return load_catalog(path) if path else None


def cmd_train(args) -> int:
    from router_core.config import RouterConfig
    from router_core.data.labelled import load_labelled
    from router_core.router import Router

    catalog = _load_catalog(args.catalog)
    data = load_labelled(args.data, catalog, missing=args.missing)
    config = RouterConfig.of(epochs=args.epochs, seed=args.seed, finetune_layers=args.finetune_layers, max_tokens=args.max_tokens,
                             validation_folds=args.validation_folds, encoder=args.encoder)
    if not 0 <= args.holdout < 1:
        raise RouterInputError(f"--holdout must be in [0, 1), got {args.holdout}")
    train = data
    if args.holdout > 0:
        train, _ = data.split(args.holdout, args.seed)
    router = Router(config).fit(train, catalog)
    held_out = {"test_fraction": args.holdout, "split_seed": args.seed, "full_data_digest": _digest(data)}
    router = router.with_parts(record=dataclasses.replace(router.training, held_out=held_out))
    router.save(args.out)
    summary = {k: v for k, v in router.training.to_dict().items() if k != "history"}
    print(json.dumps({"saved": str(args.out), "candidates": router.candidates, "training": summary}, indent=2, default=float))
    return 0


def _digest(data) -> str:
    from router_core.model.fitting import labelled_digest

    return labelled_digest(data)


def cmd_evaluate(args) -> int:
    from router_core.data.labelled import load_labelled
    from router_core.evaluation.comparison import compare_router
    from router_core.policy.curves import COMPARE_METRICS

    router = _load_router(args)
    data = load_labelled(args.data, router.catalog, missing=args.missing)
    train, test = data.split(args.test_fraction, args.seed)
    held = router.training.held_out or {}
    if held.get("full_data_digest") == _digest(data) and held.get("test_fraction", 0) == 0:
        print("warning: this router was trained on every query of this file, so its figures below are optimistic; its "
              "cross-fitted figures are in router.json (training.validation), or train with --holdout 0.2 to keep "
              "this split unseen", file=sys.stderr)
    elif held.get("full_data_digest") == _digest(data) and (held.get("test_fraction"), held.get("split_seed")) != (args.test_fraction, args.seed):
        print("warning: the router was trained with another split of this file; some test queries were in its training set", file=sys.stderr)
    table, curves = compare_router(router, train, test, seed=args.seed, policy=args.policy)
    print(f"{len(test)} held-out queries of {args.data} (measured quality and cost; baselines fitted on the other {len(train)})")
    columns = [c for c in (*COMPARE_METRICS, "estimate", "fit_seconds") if c in table.columns]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print("\n".join(map(printable, table[columns].to_string(float_format=lambda x: f"{x:.4f}").splitlines())))
    if args.json:
        payload = {"data": str(args.data), "n_test": len(test), "n_train": len(train),
                   "table": json.loads(table[columns].to_json(orient="index")),
                   "curves": {name: json.loads(curve.to_json(orient="records")) for name, curve in curves.items()}}
        write_text_atomic(Path(args.json), json.dumps(payload, indent=2))
    return 0


def cmd_route(args) -> int:
    router = _load_router(args)
    decision = router.route(args.query, args.lam, k=args.top_k, policy=args.policy)[0]
    print(json.dumps(decision.to_dict(), indent=2))
    return 0


def decisions_frame(router, query_ids, scores, lams, policy: str = "linear") -> pd.DataFrame:
    """The decisions table: query_id, lambda, model, then per-candidate weight/quality/cost columns."""
    sweep = router.sweep(scores, lams, policy)
    per_candidate = {}
    for j, name in enumerate(scores.candidates):
        per_candidate[f"weight_{name}"] = scores.weights[:, j]
        per_candidate[f"predicted_quality_{name}"] = scores.quality[:, j]
        per_candidate[f"predicted_cost_usd_{name}"] = scores.cost[:, j]
    base = pd.DataFrame({"query_id": query_ids, **per_candidate})
    parts = []
    names = np.array(scores.candidates)
    for lam, choice in zip(sweep.lams, sweep.choices):
        part = base.copy()
        part.insert(1, "lambda", round(float(lam), 6))
        part.insert(2, "model", names[choice])
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def cmd_route_batch(args) -> int:
    from router_core.data.request_log import prompts_from_frame, summarise_reasons
    from router_core.data.tables import read_table

    lams = _lams(args.lams)  # before the router loads: a typo should not cost the load
    mapping = _parse_mapping(args.map)
    batch, rejected = prompts_from_frame(read_table(args.input), str(args.input), mapping)
    if batch.empty and rejected.empty:
        raise RouterInputError(f"{args.input}: holds no rows (a header and nothing else); route-batch needs queries")
    if batch.empty:
        raise RouterInputError(f"{args.input}: no usable query; every row was set aside (first, row "
                               f"{rejected['row'].iloc[0]}: {rejected['reason'].iloc[0]})")
    router = _load_router(args)
    scores = router.scores(batch["query"].tolist())
    frame = decisions_frame(router, batch["query_id"].to_numpy(), scores, lams, args.policy)
    write_text_atomic(Path(args.output), frame.to_csv(index=False))
    if args.rejected:
        write_text_atomic(Path(args.rejected), rejected.to_csv(index=False))
    print(f"wrote {len(frame)} decisions ({len(batch)} queries × {len(lams)} λ values) to {args.output}")
    if len(rejected):
        where = f"; written to {args.rejected}" if args.rejected else "; --rejected FILE writes them all"
        print(printable(f"{len(rejected):,} rows could not be used ({summarise_reasons(rejected['reason'])}){where}"), file=sys.stderr)
    return 0


def _parse_mapping(pairs: list[str], order: str | None = None) -> dict[str, str]:
    from router_core.data.request_log import DATE_ORDER, LOG_ALIASES

    mapping = {}
    for pair in pairs:
        field, _, column = pair.partition("=")
        if not column or field not in LOG_ALIASES:
            raise RouterInputError(f"--map {pair!r}: expected FIELD=COLUMN with FIELD one of {', '.join(LOG_ALIASES)}")
        mapping[field] = column
    if order is not None:
        mapping[DATE_ORDER] = order
    return mapping


def cmd_score_log_ray(args) -> int:
    from router_core.traffic.ray_scoring import score_log_ray

    if args.rejected:
        raise RouterInputError("--rejected is for the local engine; the Ray engine writes unusable rows, with their "
                               "reason, to OUT/_rejected/")
    result = score_log_ray(args.log, args.router, args.out, mapping=_parse_mapping(args.map, args.date_order), backend=args.backend,
                           address=args.address, workers=args.workers, partitions=args.partitions,
                           chunk_rows=args.chunk_rows)
    print(f"wrote {result.requests:,} scored requests from {result.files:,} file(s) to {result.path} "
          f"({result.parts} parts) in {result.seconds:.1f} s on Ray with {result.workers} scoring worker(s); "
          f"{result.distinct_prompts:,} distinct prompts scored")
    if result.rejected:
        print(printable(f"{result.rejected:,} rows could not be used ({result.rejection_summary}); written to "
                        f"{result.path / '_rejected'}"), file=sys.stderr)
    return 0


def cmd_score_log(args) -> int:
    from tqdm import tqdm

    from router_core.traffic.log_scoring import score_log

    if args.engine == "ray":
        return cmd_score_log_ray(args)
    for flag, value in (("--address", args.address), ("--workers", args.workers), ("--partitions", args.partitions)):
        if value is not None:
            raise RouterInputError(f"{flag} is for --engine ray")
    router = _load_router(args)
    with tqdm(total=1, unit=" rows", unit_scale=True, desc=f"scoring ({router.backend})", disable=None, file=sys.stderr) as bar:
        def progress(done, total):
            bar.total = total
            bar.n = int(done)
            bar.refresh()
        result = score_log(args.log, router, args.out, mapping=_parse_mapping(args.map, args.date_order), chunk_rows=args.chunk_rows,
                           progress=progress, rejected_out=args.rejected)
    print(f"wrote {result.requests:,} scored requests to {result.path} "
          f"in {result.seconds:.1f} s ({router.backend}; router {router.id})")
    if result.rejected:
        where = f"; written to {args.rejected}" if args.rejected else "; --rejected FILE writes them all"
        print(printable(f"{result.rejected:,} rows could not be used ({result.rejection_summary}){where}"), file=sys.stderr)
    return 0


def cmd_export_onnx(args) -> int:
    from tqdm import tqdm

    from router_core.onnx_export import export_onnx

    bars = {}

    def progress(stage, done, total):
        bar = bars.get(stage) or bars.setdefault(stage, tqdm(total=total, desc=f"int8 check: {stage}", unit=" queries", disable=None, file=sys.stderr))
        bar.n = done
        bar.refresh()
    try:
        section = export_onnx(args.router, int8=args.int8, data=args.data, sample=args.sample, progress=progress,
                              encoder_from=args.encoder_from)
    finally:
        for bar in bars.values():
            bar.close()
    files = [section["head"], *section["encoder"].values()]
    print(json.dumps({"router": str(args.router), "opset": section["opset"], "int8": section["int8"],
                      "files": {f["file"]: f"{f['bytes'] / 1e6:.1f} MB" for f in files},
                      "fp32_max_abs_difference_vs_torch": section["fp32_max_abs_difference_vs_torch"],
                      "int8_gate": section["int8_gate"]}, indent=2))
    return 0


def cmd_sample_data(args) -> int:
    from router_core.demo import generate
    from router_core.demo.router import train_default_router
    from router_core.demo.views import precompute
    from router_core.router import Router

    out = Path(args.out)
    if not args.views_only:
        paths = generate(args.out, seed=args.seed)
        for name, path in paths.items():
            print(f"{name}: {path}")
        trained = train_default_router(out, seed=args.seed)
        print(f"router: {out / 'router'} (validation: {json.dumps(trained.training.validation, default=float)})")
    router = Router.load(out / "router")  # as the dashboard loads it (ONNX where exported)
    views = precompute(router, out, progress=lambda message: print(f"{message}…", file=sys.stderr))
    print(f"views: {views} (what the dashboard shows on the sample data, for router {router.id})")
    return 0


def cmd_upgrade(args) -> int:
    from router_core.artifact.upgrade import upgrade

    if upgrade(args.router):
        print(f"{args.router}: converted to the current artifact format (same weights, same decisions)")
    else:
        print(f"{args.router}: already in the current artifact format; nothing to do")
    return 0


def cmd_simulate(args) -> int:
    from router_core.traffic.simulate import simulate

    router = _load_router(args)
    report = simulate(router, args.log, args.schedule, policy=args.policy, timezone=args.timezone,
                      mapping=_parse_mapping(args.map, args.date_order), calibrate_costs=not args.no_calibration)
    for line in report.summary_lines():
        print(printable(line))
    if args.out:
        report.write_csv(args.out)
        print(f"wrote {args.out}")
    return 0


def cmd_replay(args) -> int:
    from router_core.live.policy import policy_from_spec
    from router_core.traffic.replay import replay
    from router_core.traffic.simulate import calibrate, prepare_log

    router = _load_router(args)
    policy = policy_from_spec(args.policy)
    prepared = calibrate(prepare_log(router, args.log, mapping=_parse_mapping(args.map, args.date_order), name=str(args.log)),
                         not args.no_calibration)
    result = replay(prepared.scored, policy, router.policy(args.policy_rule))
    print(printable(f"{args.log}: {prepared.n_requests:,} requests under {result.policy.describe()}; spend charged at the "
                    "log's measured cost where it called the chosen model, else predicted; quality predicted"))
    if prepared.n_rejected:
        print(printable(f"Unusable rows left out: {prepared.n_rejected:,} ({prepared.rejection_summary or prepared.first_rejection})"))
    if prepared.calibration:
        print(printable("Predicted costs calibrated to the log, per model measured ÷ predicted: " + ", ".join(
            f"{name} ×{factor:.2f}" for name, factor in prepared.calibration["factors"].items()) + " (--no-calibration: off)"))
    days = result.days()
    columns = [c for c in ("day", "requests", "budget_usd", "spend_usd", "spend_vs_budget", "quality", "mean_lam",
                           "hindsight_lam", "hindsight_quality", "quality_vs_hindsight") if c in days]
    print(days[columns].to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    if args.out:
        from router_core.files import write_text_atomic

        write_text_atomic(args.out, result.requests.to_csv(index=False))
        print(f"wrote {args.out} (one row per request: time, λ, model, charged and predicted cost, predicted quality)")
    if args.trace and not result.trace.empty:
        from router_core.files import write_text_atomic

        write_text_atomic(args.trace, result.trace.to_csv(index=False))
        print(f"wrote {args.trace} (λ and its target at each controller update)")
    return 0


def _need_extra(modules: tuple[str, ...], extra: str, verb: str) -> None:
    """A clear error, with the install line, when an optional part is not installed."""
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise RouterInputError(f"{verb} needs {', '.join(missing)}, which is not installed: pip install \"crossroute[{extra}]\" "
                               "(or pip install -r requirements.txt)")


def cmd_serve(args) -> int:
    _need_extra(("fastapi", "uvicorn", "litellm", "prometheus_client"), "serve", "serve")
    import uvicorn

    from router_core.serve.run import build_app
    from router_core.serve.service import ServerOptions

    router = _load_router(args)
    import os

    def token(option: str, name: str | None) -> str | None:
        if not name:
            return None
        value = os.environ.get(name)
        if not value:
            raise RouterInputError(f"{option}: environment variable {name} is not set or empty")
        return value

    options = ServerOptions(lam=args.lam, routing_timeout=args.routing_timeout_ms / 1000, log_prompts=args.log_prompts,
                            admin_token=token("--admin-token-env", args.admin_token_env), client_seconds=args.client_timeout,
                            feedback_token=token("--feedback-token-env", args.feedback_token_env), explore=args.explore,
                            seed=args.seed)
    app = build_app(router, args.models, demo=args.demo, log_dir=_log_dir(args), options=options,
                    fallback=args.fallback.split(",") if args.fallback else None, upstream_timeout=args.upstream_timeout,
                    num_retries=args.retries, lambda_policy=args.lambda_policy, shadow=args.shadow,
                    judge=(args.judge, args.judge_rate, args.judge_budget_usd) if args.judge else None)
    print(f"CrossRoute router {router.id} on http://{args.host}:{args.port}/v1 ({'demo: mock answers' if args.demo and not args.models else args.models}); "
          f"decisions in {_log_dir(args)}", flush=True)
    from router_core.serve.connections import header_deadline_protocol

    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", http=header_deadline_protocol(args.client_timeout),
                timeout_keep_alive=args.client_timeout)
    return 0


def cmd_litellm_config(args) -> int:
    from router_core.router import Router
    from router_core.serve.proxy_config import write_proxy_config

    router = Router.load(args.router)
    written = write_proxy_config(router, args.router, args.models, args.out, lam=args.lam, log_dir=_log_dir(args),
                                 routing_timeout_ms=args.routing_timeout_ms, log_prompts=args.log_prompts,
                                 lambda_policy=args.lambda_policy, budget_update_seconds=args.budget_update_seconds)
    for path in written:
        print(f"wrote {printable(str(path))}")
    print(f"start the proxy with: LITELLM_MASTER_KEY=sk-... litellm --config {printable(str(written[0]))}")
    return 0


def cmd_prices(args) -> int:
    from router_core.data.catalog import price_checks
    from router_core.data.litellm_prices import price_table

    checks = price_checks(args.catalog)
    table = price_table(checks)
    print(table.to_string(index=False, na_rep="-", float_format=lambda x: f"{x:g}"))
    differ = [c.name for c in checks if c.status == "differs (catalog wins)"]
    unknown = [c.name for c in checks if c.status == "unknown to LiteLLM"]
    if differ:
        print(f"{len(differ)} model(s) priced differently from LiteLLM's map (the catalog's price is used): {', '.join(differ)}")
    if unknown:
        print(f"{len(unknown)} model(s) LiteLLM's map does not know (check their provider_model_id): {', '.join(unknown)}")
    return 0


def cmd_decisions(args) -> int:
    from router_core.decisionlog.queries import read_since, summarise

    lines, table = summarise(read_since(_log_dir(args), args.since))
    for line in lines:
        print(printable(line))
    if not table.empty:
        print(table.to_string(float_format=lambda x: f"{x:.4f}"))
    return 0


def cmd_feedback(args) -> int:
    from router_core.feedback import store

    given = store.checked(args.request_id, args.score, args.thumbs, args.source, args.comment)
    replaced = store.record(_log_dir(args), given)
    print(f"feedback {given.score:g} from {printable(given.source)} on {printable(given.request_id)}"
          f"{' (replaced the earlier one)' if replaced else ''}")
    return 0


def cmd_learn(args) -> int:
    from router_core.feedback.learn import learn, partial_from_log, read_partial

    router = _load_router(args)
    if bool(args.data) == bool(args.log):
        raise RouterInputError("learn needs one of --data FEEDBACK (a labelled file) or --log DIR (a decision log)")
    labels = (read_partial(args.data, router.candidates) if args.data
              else partial_from_log(args.log, router.candidates, tuple(args.sources.split(",")) if args.sources else None))
    updated = learn(router, labels)
    path = updated.save(args.out)
    counts = ", ".join(f"{printable(m)} {n}" for m, n in labels.counts.items() if n)
    print(f"learned from {len(labels.queries)} queries ({counts}); router {updated.id} saved to {path}")
    return 0


def cmd_evaluate_policy(args) -> int:
    from router_core.feedback.evaluate import evaluate_policy

    policy = router = None
    if args.policy:
        from router_core.live.policy import load_policy

        policy = load_policy(args.policy)
    if args.router:
        router = _load_router(args)
    if args.lam is not None:
        check_lam(args.lam, "--lam")
    sources = tuple(s.strip() for s in args.sources.split(",")) if args.sources else None
    result, logged = evaluate_policy(_log_dir(args), args.lam, policy, router, sources)
    what = (f"router {router.id}" if router is not None else "") + (f" at λ = {args.lam:g}" if args.lam is not None else "")
    what = what.strip() or policy.describe()
    left = "; ".join(f"{n} {why}" for why, n in logged.left_out.items())
    print(f"{len(logged)} logged requests with feedback{f' (left out: {left})' if left else ''}; "
          f"as logged: quality {result.logged_quality:.4f} (feedback), cost ${result.logged_cost_usd:.6f} per request (measured)")
    print(f"{what}: chooses the logged model on {result.agreement:.0%} of requests; the log supports its choice on "
          f"{result.support:.0%} (the rest were never explored)")
    for e in (result.ips, result.dr):
        print(f"  quality, {e.method}: {e.value:.4f} (95% interval {e.low:.4f} to {e.high:.4f}; estimated from feedback)")
    print(f"  cost: ${result.predicted_cost_usd:.6f} per request (predicted by the logging router)")
    if args.json:
        print(json.dumps({"policy": what, "requests": len(logged), **result.to_dict()}))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from router_core.config import (  # dataclasses only: cheap, unlike the modules the verbs import
        ModelConfig,
        TrainingConfig,
    )

    model, training = ModelConfig(), TrainingConfig()

    parser = OneLineParser(prog="python -m router_core", description="CrossRoute: cost-aware LLM routing with a cross-attention router.")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = verbs.add_parser("train", help="train a router on a labelled set", description="Train a cross-attention router on a labelled routing set and save the artifact.")
    p.add_argument("--data", required=True, help="labelled set (CSV, JSONL or Parquet; long or RouterBench wide format)")
    p.add_argument("--out", required=True, help="folder to write the router artifact to (replaced atomically)")
    p.add_argument("--catalog", help="catalog CSV or LiteLLM config.yaml; prices token counts and lets re-pricing work without retraining")
    p.add_argument("--epochs", type=positive_int, default=training.epochs,
                   help=f"maximum epochs of each cross-fitted network; each stops early (default {training.epochs})")
    p.add_argument("--seed", type=int, default=training.seed,
                   help=f"seed for the folds, the --holdout split and the weights (default {training.seed}, as `evaluate`)")
    p.add_argument("--holdout", "--test-fraction", dest="holdout", type=float, default=0.0,
                   help="share of queries kept out of training for `evaluate` (same seed => same split; 0.2 is "
                        "evaluate's default). Default 0: the router learns from every query, and its validation "
                        "figures (cross-fitted, out of fold) are saved in router.json")
    p.add_argument("--finetune-layers", type=int, default=training.finetune_layers,
                   help=f"top encoder layers to fine-tune with the router when it trains on at least "
                        f"{training.finetune_min_queries} queries (fewer keep it frozen); 0 always keeps the encoder "
                        f"frozen and trains several times faster (default {training.finetune_layers})")
    p.add_argument("--validation-folds", type=int, default=training.validation_folds,
                   help=f"cross-fitted networks whose out-of-fold predictions choose the quality stage's weights "
                        f"(default {training.validation_folds}); one more then trains on every query")
    p.add_argument("--max-tokens", type=positive_int, default=model.max_tokens,
                   help=f"prompt tokens the encoder reads (default {model.max_tokens})")
    p.add_argument("--encoder", default=model.encoder,
                   help=f"query encoder: {model.encoder} (bundled, default) or a local folder holding a BERT-family model")
    p.add_argument("--missing", choices=("error", "drop"), default="error", help="a query lacking some model: stop with an error (default) or leave it out")
    p.set_defaults(func=cmd_train)

    p = verbs.add_parser("evaluate", help="router vs every baseline on held-out queries", description="Split --data by query (as `train` did), fit the baselines on the train part and measure the router and every baseline on the held-out part: AIQ, max quality, cost at best-single quality, quality at the cheapest model's cost; APGR/CPT for two-model sets.")
    p.add_argument("--router", required=True, help="router artifact folder")
    p.add_argument("--data", required=True, help="labelled set to evaluate on")
    p.add_argument("--json", help="also write the table and every λ curve to this JSON file")
    p.add_argument("--test-fraction", type=float, default=0.2, help="held-out share of queries (default 0.2, as `train`)")
    p.add_argument("--seed", type=int, default=0, help="split seed (default 0, as `train`)")
    p.add_argument("--policy", choices=POLICIES, default="linear", help="λ policy for the router's curve (default linear)")
    p.add_argument("--missing", choices=("error", "drop"), default="error", help="a query lacking some model: error (default) or leave it out")
    _router_options(p)
    p.set_defaults(func=cmd_evaluate)

    p = verbs.add_parser("route", help="route one query, print JSON", description="Route one query at trade-off λ and print the decision with per-model weights, predicted quality and predicted cost.")
    p.add_argument("query", help="the query text")
    p.add_argument("--router", default=str(DEFAULT_ROUTER), help="router artifact folder (default: the bundled sample router)")
    p.add_argument("--lam", type=float, required=True, help="λ in [0, 1]: 0 = highest predicted quality, 1 = cheapest")
    p.add_argument("--top-k", type=positive_int, default=1, help="1 = hard routing; k > 1 = soft routing: call the top k and merge with the aggregator (default 1)")
    p.add_argument("--policy", choices=POLICIES, default="linear", help="λ policy (default linear)")
    _router_options(p)
    p.set_defaults(func=cmd_route)

    p = verbs.add_parser("route-batch", help="route a file of queries at many λ values", description="Route every query of a file at each λ and write the decisions CSV (query_id, lambda, model, per-model weight, predicted quality and cost).")
    p.add_argument("--router", default=str(DEFAULT_ROUTER), help="router artifact folder (default: the bundled sample router)")
    p.add_argument("--input", required=True, help="CSV, JSONL or Parquet: a query column (query, prompt, OpenAI-style messages, … "
                                                  "as score-log reads them) and optional query_id / request_id")
    p.add_argument("--map", action="append", default=[], metavar="prompt=COLUMN", help="name the query column by hand")
    p.add_argument("--rejected", help="also write the unusable rows (row number, reason, cells) to this CSV")
    p.add_argument("--lams", default="0:1:21", help="λ values: 0,0.5,1, a progression 0,0.05,...,1, or start:stop:count (default 0:1:21)")
    p.add_argument("--output", required=True, help="decisions CSV to write (atomically)")
    p.add_argument("--policy", choices=POLICIES, default="linear", help="λ policy (default linear)")
    _router_options(p)
    p.set_defaults(func=cmd_route_batch)

    p = verbs.add_parser("score-log", help="score a request log of any size into Parquet for the schedule simulator",
                         description="Score every request of a log (CSV, JSONL or Parquet; columns matched by alias) chunk by chunk, "
                                     "each distinct prompt once, and write per request its timestamp, prompt key and every model's "
                                     "predicted quality, cost and weight to a Parquet file the dashboard's schedule simulator opens.")
    p.add_argument("--router", default=str(DEFAULT_ROUTER), help="router artifact folder (default: the bundled sample router)")
    p.add_argument("--log", required=True, help="request log: a timestamp and a prompt per row (LiteLLM spend logs, OpenAI messages work); "
                                                "with --engine ray also a folder or a glob of such files")
    p.add_argument("--out", required=True, help="Parquet file to write (atomically); with --engine ray, a folder")
    _log_mapping_options(p)
    p.add_argument("--rejected", help="also write the unusable rows (row number, reason, cells) to this CSV")
    p.add_argument("--chunk-rows", type=positive_int, default=20_000, help="rows read and scored at a time; bounds memory (default 20000)")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local (this process; default) or ray: many files scored on a Ray cluster into a folder of "
                        "Parquet parts (--log may then be a folder or a glob; install with requirements-ray.txt)")
    p.add_argument("--address", help="Ray: a running cluster (auto, or ray://HOST:PORT); default $RAY_ADDRESS, else a "
                                     "Ray started on this machine")
    p.add_argument("--workers", type=positive_int, help="Ray: scoring actors (default one per CPU of the cluster)")
    p.add_argument("--partitions", type=positive_int, help="Ray: hash partitions of the prompts (default 4 per worker)")
    _router_options(p)
    p.set_defaults(func=cmd_score_log)

    p = verbs.add_parser("simulate", help="replay a request log under a λ schedule or a daily budget",
                         description="Score a request log (or open a score-log Parquet file), route every request at the λ its "
                                     "hour gets from --schedule, and print predicted cost and quality per day and month beside what "
                                     "the log itself spent (measured, where it has a cost column).")
    p.add_argument("--router", default=str(DEFAULT_ROUTER), help="router artifact folder (default: the bundled sample router)")
    p.add_argument("--log", required=True, help="request log (CSV, JSONL, Parquet) or a score-log Parquet file")
    p.add_argument("--schedule", default="business-hours",
                   help="the λ policy: business-hours (the seed preset), constant:0.3 (one λ all day), budget:50 (the live "
                        "budget controller at USD 50 a day), fitted-budget:50 (the lowest constant λ whose spend fits), "
                        "or a λ policy YAML file (default business-hours)")
    p.add_argument("--policy", choices=POLICIES, default="linear", help="λ policy (default linear)")
    p.add_argument("--timezone", default="UTC", help="IANA time zone whose clocks the schedule's hours follow, e.g. "
                                                     "Europe/Berlin (default UTC)")
    p.add_argument("--out", help="also write the per-request decisions to this CSV (atomically)")
    _log_mapping_options(p)
    _calibration_option(p)
    _router_options(p)
    p.set_defaults(func=cmd_simulate)

    p = verbs.add_parser("upgrade", help="convert a router artifact from an older CrossRoute to the current format",
                         description="Rewrite a router folder written by an older CrossRoute in the current artifact format, in "
                                     "place and atomically: the same weights and quality stage, so the same decisions.")
    p.add_argument("--router", required=True, help="router artifact folder (rewritten atomically)")
    p.set_defaults(func=cmd_upgrade)

    p = verbs.add_parser("export-onnx", help="export the router to ONNX (optionally int8) for fast scoring",
                         description="Write the router's encoder and head as ONNX graphs into its folder and record them (files, "
                                     "sha256, opset) in router.json; loading then scores with ONNX Runtime. --int8 adds a dynamically "
                                     "quantised encoder, kept only if on --data its hard decisions at 21 λ values agree with fp32 on "
                                     ">= 99% of (query, λ) pairs and AIQ drops by <= 0.5%; otherwise it exits 2 with the figures, "
                                     "keeping fp32.")
    p.add_argument("--router", required=True, help="router artifact folder (rewritten atomically)")
    p.add_argument("--int8", action="store_true", help="also quantise the encoder to int8, checked against fp32 on --data")
    p.add_argument("--data", help="labelled set of the router's models, for the int8 check (e.g. the router's own training file)")
    p.add_argument("--sample", type=positive_int, default=2000, help="queries of --data the int8 check uses (seeded; default 2000)")
    p.add_argument("--encoder-from", help="an encoder.onnx exported before for the same encoder: kept as it is when its "
                                          "scores match torch (faster, and the file stays byte for byte the same)")
    p.set_defaults(func=cmd_export_onnx)

    p = verbs.add_parser("replay", help="replay a request log through a λ policy file (constant, schedule or budget)",
                         description="Feed a timestamped log through the λ policy the server would run (policy.yaml: "
                                     "`lambda: 0.3`, `schedule: business-hours` or `budget: {daily_usd: 50}`), in simulated "
                                     "time with the server's budget controller, and print per day the spend against the "
                                     "budget, predicted quality and the best constant λ in hindsight.")
    p.add_argument("--router", default=str(DEFAULT_ROUTER), help="router artifact folder (default: the bundled sample router)")
    p.add_argument("--log", required=True, help="request log (CSV, JSONL, Parquet) or a score-log Parquet file")
    p.add_argument("--policy", required=True, help="λ policy YAML file, or a short form such as budget:50 or constant:0.3")
    p.add_argument("--policy-rule", choices=POLICIES, default="linear", help="decision rule (default linear)")
    p.add_argument("--out", help="write one row per request (CSV)")
    p.add_argument("--trace", help="write the controller's λ at each update (CSV)")
    _log_mapping_options(p)
    _calibration_option(p)
    _router_options(p)
    p.set_defaults(func=cmd_replay)

    p = verbs.add_parser("serve", help="an OpenAI-compatible router server in front of your models",
                         description="Serve POST /v1/chat/completions (plain and streamed), GET /v1/models, /health and /metrics. "
                                     "Ask for model 'crossroute' (the server's λ), 'crossroute-0.3' (λ = 0.3) or 'crossroute-0.3-k2' "
                                     "(soft routing: top 2 and an aggregator). Upstream calls go through LiteLLM; a failing model "
                                     "falls back to the next one; every decision is logged.")
    p.add_argument("--router", default=str(DEFAULT_ROUTER), help="router artifact folder (default: the bundled sample router)")
    p.add_argument("--models", help="LiteLLM config.yaml whose model_list serves the router's models (by model_name, or "
                                    "litellm_params.model = the catalog's provider_model_id)")
    p.add_argument("--demo", action="store_true", help="answer with LiteLLM mock responses: no key, no network")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=positive_int, default=6060, help="port (default 6060)")
    p.add_argument("--lam", type=float, default=0.2, help="λ for requests that name none (default 0.2)")
    p.add_argument("--lambda-policy", help="λ policy YAML (`lambda: 0.3`, `schedule: business-hours`, `budget: {daily_usd: 50}`); "
                                           "watched: an edit takes effect within 2 s, a broken file is refused and logged")
    p.add_argument("--admin-token-env", help="environment variable holding the bearer token that turns on "
                                             "GET/PUT /admin/lambda-policy (off by default)")
    p.add_argument("--feedback-token-env", help="environment variable holding the bearer token that turns on "
                                                "POST /v1/feedback (off by default)")
    p.add_argument("--shadow", help="a candidate router decided beside the router on every request and logged, not acted "
                                     "on; promote it with PUT /admin/router {\"shadow\": true}")
    p.add_argument("--judge", help="one of the router's models that grades a sample of answers (prompt and answer, a "
                                    "fixed rubric); its scores are stored as feedback from source 'judge'")
    p.add_argument("--judge-rate", type=float, default=0.02, help="share of answered requests the judge grades (default 0.02)")
    p.add_argument("--judge-budget-usd", type=float, default=5.0,
                   help="the most the judge may spend per UTC day, never exceeded (default 5)")
    p.add_argument("--explore", type=float, default=0.0, help="share of requests sent to another model than the router's "
                                                              "choice, drawn by utility, to learn from (default 0)")
    p.add_argument("--seed", type=int, help="seed of exploration's draws (default: fresh each start)")
    p.add_argument("--log", type=Path, default=None, help=LOG_HELP)
    p.add_argument("--log-prompts", action="store_true", help="keep prompt texts in the decision log (default: a hash only)")
    p.add_argument("--client-timeout", type=positive_float, default=10.0,
                   help="seconds a client has to send a request's headers, and again its body; an idle kept-alive "
                        "connection is closed after as long (default 10)")
    p.add_argument("--fallback", help="comma-separated fallback order (default: best mean quality first)")
    p.add_argument("--routing-timeout-ms", type=float, default=100.0,
                   help="past this, a request goes to the fallback order unrouted (default 100)")
    p.add_argument("--upstream-timeout", type=float, default=60.0, help="seconds per upstream call (default 60)")
    p.add_argument("--retries", type=int, default=2, help="LiteLLM retries of a failed call before the fallback (default 2)")
    _router_options(p)
    p.set_defaults(func=cmd_serve)

    p = verbs.add_parser("litellm-config", help="a LiteLLM proxy config that routes with this router",
                         description="Write DIR/config.yaml (your model_list, plus the CrossRoute callback, the master key "
                                     "from LITELLM_MASTER_KEY and fallbacks along the router's order) and the callback "
                                     "module it loads, so that `litellm --config DIR/config.yaml` serves the model names "
                                     "crossroute and crossroute-0.3 (hard routing; k > 1 is refused with a 400), logs every "
                                     "decision and follows --lambda-policy, budget included.")
    p.add_argument("--router", default=str(DEFAULT_ROUTER), help="router artifact folder (default: the bundled sample router)")
    p.add_argument("--models", required=True, help="your LiteLLM config.yaml; its model_list must serve every router model "
                                                   "(by model_name, or litellm_params.model = the catalog's provider_model_id)")
    p.add_argument("--out", required=True, help="folder to write config.yaml and crossroute_callback.py into")
    p.add_argument("--lam", type=float, default=0.2, help="λ for `crossroute` without a λ of its own (default 0.2)")
    p.add_argument("--lambda-policy", help="λ policy YAML the proxy follows (watched), e.g. `budget: {daily_usd: 50}`")
    p.add_argument("--log", type=Path, default=None, help=LOG_HELP)
    p.add_argument("--log-prompts", action="store_true", help="keep prompt texts in the decision log (default: a hash only)")
    p.add_argument("--routing-timeout-ms", type=float, default=100.0,
                   help="past this, a request goes to the fallback order's first model (default 100)")
    p.add_argument("--budget-update-seconds", type=positive_float, default=60.0,
                   help="how often a budget policy moves λ (default 60)")
    p.set_defaults(func=cmd_litellm_config)

    p = verbs.add_parser("prices", help="a catalog's prices beside LiteLLM's price map",
                         description="List every model of a catalog (CSV, JSON or LiteLLM config.yaml) with the catalog's "
                                     "prices, LiteLLM's (input, output, cached input; USD per 1M tokens) and whether they "
                                     "agree. A row without prices takes LiteLLM's; a price the catalog states wins.")
    p.add_argument("--catalog", required=True, help="catalog CSV/JSON or LiteLLM config.yaml")
    p.set_defaults(func=cmd_prices)

    p = verbs.add_parser("feedback", help="score an answered request in a decision log",
                         description="Store a score (0 to 1) or a thumbs up/down against a logged request, as POST /v1/feedback does; "
                                     "one per request and source, so sending it again replaces it.")
    p.add_argument("--log", type=Path, default=None, help=LOG_HELP)
    p.add_argument("--request-id", required=True, help="the request's x-crossroute-request-id")
    given = p.add_mutually_exclusive_group(required=True)
    given.add_argument("--score", type=float, help="quality of the answer, 0 (worst) to 1 (best)")
    given.add_argument("--thumbs", choices=["up", "down"])
    p.add_argument("--source", default="user", help="who scored it (default user)")
    p.add_argument("--comment")
    p.set_defaults(func=cmd_feedback)

    p = verbs.add_parser("learn", help="update a router from feedback on what it routed (partial labels)",
                         description="Update a router's quality evidence from queries labelled for some of its models (the "
                                     "one each was routed to, typically): from a labelled file in the long format, or from "
                                     "a decision log's feedback (needs --log-prompts). Seconds, no retraining; the encoder "
                                     "and network are unchanged and where the new evidence is thin the router decides as before.")
    p.add_argument("--router", default=str(DEFAULT_ROUTER), help="router artifact folder (default: the bundled sample router)")
    p.add_argument("--data", help="feedback file: query_id, query, model, quality (CSV, JSONL or Parquet)")
    p.add_argument("--log", help="a decision log folder whose feedback to learn from")
    p.add_argument("--sources", help="with --log: feedback sources to use, comma-separated (default all)")
    p.add_argument("--out", required=True, help="folder to write the updated router to")
    _router_options(p)
    p.set_defaults(func=cmd_learn)

    p = verbs.add_parser("evaluate-policy", help="estimate another λ, λ policy or router on a decision log's feedback",
                         description="Off-policy estimates (inverse propensity and doubly robust, with 95% intervals) of the "
                                     "quality another λ, λ policy or router would have reached on the logged requests that "
                                     "have feedback, and its predicted cost, without new calls. Exploration (serve --explore) "
                                     "is what lets the log support choices the router did not make.")
    p.add_argument("--log", type=Path, default=None, help=LOG_HELP)
    p.add_argument("--lam", type=float, help="the λ to evaluate (with --router: the λ that router routes at)")
    p.add_argument("--policy", help="a λ policy YAML to evaluate (a constant λ or a schedule)")
    p.add_argument("--router", help="another router artifact to evaluate (needs a log written with --log-prompts)")
    p.add_argument("--sources", help="feedback sources to use, comma-separated (default: all, averaged per request)")
    p.add_argument("--json", action="store_true", help="also print the estimates as one JSON line")
    _router_options(p)
    p.set_defaults(func=cmd_evaluate_policy)

    p = verbs.add_parser("decisions", help="summarise a server's decision log",
                         description="Requests, failures, fallbacks, measured spend and the model mix from the decision log.")
    p.add_argument("--log", type=Path, default=None, help=LOG_HELP)
    p.add_argument("--since", help="only the last 30m, 1h, 7d, ... (default: all)")
    p.set_defaults(func=cmd_decisions)

    p = verbs.add_parser("sample-data", help="regenerate sample_data/ and its default router", description="Regenerate the synthetic sample data (catalog, labelled set, request log, README) with a fixed seed and retrain the default router.")
    p.add_argument("--out", default=str(SAMPLE_DIR), help=f"folder to write (default {SAMPLE_DIR})")
    p.add_argument("--seed", type=int, default=7, help="generator seed (default 7; same seed => same files)")
    p.add_argument("--views-only", action="store_true",
                   help="keep the data and router; only recompute what the dashboard shows on them (after export-onnx, say)")
    p.set_defaults(func=cmd_sample_data)
    return parser


FILE_ARGUMENTS = ("data", "catalog", "log", "input", "router", "schedule")  # what a verb reads
OUTPUT_ARGUMENTS = ("out", "output", "json", "rejected")  # what a verb writes (export-onnx and upgrade rewrite --router)


def _named(args, names) -> list[str]:
    return [str(getattr(args, n)) for n in names if getattr(args, n, None)]


def _outputs(args) -> list[str]:
    return _named(args, OUTPUT_ARGUMENTS) or (_named(args, ["router"]) if args.verb in ("export-onnx", "upgrade") else [])


def _inputs_phrase(args) -> str:
    files = _named(args, FILE_ARGUMENTS)
    return files[0] if len(files) == 1 else f"one of {', '.join(files)}" if files else f"the input of {args.verb}"


def os_error_message(e: OSError, args) -> str:
    """One line naming the file an OSError is about (the rename target, else its file, else what the verb writes)."""
    words = OSERROR_WORDS.get(e.errno) or (e.strerror or str(e) or type(e).__name__)
    name = e.filename2 or e.filename
    if name is None and e.errno in WRITE_ERRNOS and _outputs(args):
        name = " / ".join(_outputs(args))
    if name is None:
        return f"{args.verb}: {words}" + (f" (while reading or writing {_inputs_phrase(args)})" if e.errno not in WRITE_ERRNOS else "")
    return f"{name}: {words}"


def _one_line_warnings(shown):
    """A warnings.showwarning that prints CrossRoute's own warnings as one `warning:` line and leaves the rest to `shown`."""
    from router_core.errors import CrossRouteWarning
    from router_core.model.score_cache import ScoreCacheWarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, (ScoreCacheWarning, CrossRouteWarning)):
            print(printable(f"warning: {message}"), file=sys.stderr)
        else:
            shown(message, category, filename, lineno, file, line)
    return show


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warnings(warnings.showwarning)
            return args.func(args)
    except RouterInputError as e:
        message = str(e)
    except RecursionError:
        message = f"{_inputs_phrase(args)}: nested too deeply to read (JSON/YAML structures deeper than Python's limit)"
    except MemoryError:
        message = (f"ran out of memory on {_inputs_phrase(args)}; a big request log streams with "
                   f"`python -m router_core score-log --chunk-rows N` (smaller N, less memory)")
    except OSError as e:
        message = os_error_message(e, args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print(printable(f"error: {message}"), file=sys.stderr)
    return 2


def console() -> None:
    """The `crossroute` console script: the same verbs as `python -m router_core`."""
    sys.exit(main())
