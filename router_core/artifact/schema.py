"""What a router.json may hold: its structure, types, ranges and enums checked before any part is built from it,
and the digest of its own content that refuses hand edits.

Each check raises RouterInputError naming the file and the key path (`pricing.catalog.candidates[1].name`).
"""
from __future__ import annotations

import hashlib
import json
import math
import re

from router_core.data.catalog import CACHED_COLUMN, CATALOG_COLUMNS
from router_core.errors import RouterInputError
from router_core.model.pricing import COST_MODES

META_DIGEST = "router_json_sha256"
ONNX_DIGEST = "section_sha256"  # the export's own seal: `export-onnx` adds a section without touching the rest
TOP_KEYS = {"format_version", "config", "pricing", "cost_scale", "quality", "training", "weights_sha256", "weights_bytes",
            "encoder_sha256", "onnx", "guard", META_DIGEST}
REQUIRED = TOP_KEYS - {"onnx", "encoder_sha256", "guard"}
QUALITY_WEIGHTS = ("network_weight", "neighbour_weight", "linear_weight", "task_type_weight", "prior_weight")
ONNX_VARIANTS = ("fp32", "int8")
MAX_FILE_BYTES = 64 * 2**30  # no artifact file comes near this; a bigger recorded size is damage
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")


def content_digest(meta: dict) -> str:
    """sha256 of router.json's content in canonical form (sorted keys, no spaces), without its digest and onnx section."""
    return hashlib.sha256(_canonical({k: v for k, v in meta.items() if k not in (META_DIGEST, "onnx")})).hexdigest()


def onnx_digest(export: dict, main_digest: str) -> str:
    """sha256 of the onnx section (its own seal left out), tied to the content it was exported from."""
    return hashlib.sha256(_canonical({k: v for k, v in export.items() if k != ONNX_DIGEST}) + main_digest.encode()).hexdigest()


def seal(meta: dict) -> dict:
    """`meta` with its content digest, and its onnx section's, recorded."""
    main = content_digest(meta)
    sealed = {**meta, META_DIGEST: main}
    if isinstance(meta.get("onnx"), dict):
        sealed["onnx"] = {**meta["onnx"], ONNX_DIGEST: onnx_digest(meta["onnx"], main)}
    return sealed


def seal_matches(meta: dict) -> bool:
    """Whether router.json's recorded digests match its content (both parts)."""
    if meta.get(META_DIGEST) != content_digest(meta):
        return False
    export = meta.get("onnx")
    return export is None or (isinstance(export, dict) and export.get(ONNX_DIGEST) == onnx_digest(export, meta[META_DIGEST]))


class _Checker:
    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, expected: str, value) -> None:
        shown = repr(value)
        raise RouterInputError(f"{self.source}: {key} must be {expected}, got {shown[:80]}{'…' if len(shown) > 80 else ''}")

    def obj(self, value, key: str, required=(), optional=()) -> dict:
        if not isinstance(value, dict):
            self.fail(key, "an object", type(value).__name__)
        missing = [k for k in required if k not in value]
        if missing:
            raise RouterInputError(f"{self.source}: {key} lacks {', '.join(missing)}; the artifact is incomplete, train it again")
        unknown = sorted(str(k) for k in set(value) - set(required) - set(optional))
        if unknown:
            raise RouterInputError(f"{self.source}: {key} has unknown key(s) {', '.join(unknown)[:120]}")
        return value

    def number(self, value, key: str, low: float | None = None, high: float | None = None, strict_low: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.fail(key, "a finite number", value)
        if low is not None and (value <= low if strict_low else value < low):
            self.fail(key, f"a number {'>' if strict_low else '>='} {low:g}", value)
        if high is not None and value > high:
            self.fail(key, f"a number <= {high:g}", value)
        return float(value)

    def whole(self, value, key: str, low: int = 0, high: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            self.fail(key, f"a whole number >= {low}" + (f" and <= {high}" if high is not None else ""), value)
        return value

    def text(self, value, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(key, "a non-empty string", value)
        return value

    def hexdigest(self, value, key: str) -> str:
        if not isinstance(value, str) or not HEX64.match(value):
            self.fail(key, "a sha256 hex digest", value)
        return value


def check_meta(meta, source: str) -> dict:
    """`meta` (a parsed router.json of the current format) if its structure is valid, else RouterInputError."""
    c = _Checker(source)
    c.obj(meta, "router.json", REQUIRED, TOP_KEYS - REQUIRED)
    c.obj(meta["config"], "config", (), ("model", "training", "policy"))  # RouterConfig.from_dict checks each field
    _check_pricing(c, meta["pricing"])
    scale = c.obj(meta["cost_scale"], "cost_scale", ("log_min", "log_max", "weight"))
    low = c.number(scale["log_min"], "cost_scale.log_min", -1e3, 1e3)
    c.number(scale["log_max"], "cost_scale.log_max", low, 1e3, strict_low=True)
    c.number(scale["weight"], "cost_scale.weight", 0.0, 1e6, strict_low=True)
    if meta["quality"] is not None:
        _check_quality(c, meta["quality"])
    if meta.get("guard") is not None:
        _check_guard(c, meta["guard"], meta["pricing"]["candidates"])
    c.obj(meta["training"], "training", (), meta["training"].keys() if isinstance(meta["training"], dict) else ())
    c.hexdigest(meta["weights_sha256"], "weights_sha256")
    c.whole(meta["weights_bytes"], "weights_bytes", 1, MAX_FILE_BYTES)
    if meta.get("encoder_sha256") is not None:
        c.hexdigest(meta["encoder_sha256"], "encoder_sha256")
    if meta.get("onnx") is not None:
        _check_onnx(c, meta["onnx"])
    return meta


def _check_guard(c: _Checker, guard, candidates: list) -> None:
    if not isinstance(guard, list) or len(guard) > 21:
        c.fail("guard", "a list of at most 21 λ ranges", guard)
    for i, item in enumerate(guard):
        c.obj(item, f"guard[{i}]", ("low", "high", "model"))
        low = c.number(item["low"], f"guard[{i}].low", 0.0, 1.0)
        c.number(item["high"], f"guard[{i}].high", low, 1.0)
        if item["model"] not in candidates:
            c.fail(f"guard[{i}].model", "one of the router's models", item["model"])


def _check_pricing(c: _Checker, pricing) -> None:
    c.obj(pricing, "pricing", ("candidates", "catalog", "cost_mode", "cost_standardise"))
    names = pricing["candidates"]
    if not isinstance(names, list) or not names:
        c.fail("pricing.candidates", "a non-empty list of model names", names)
    for i, name in enumerate(names):
        c.text(name, f"pricing.candidates[{i}]")
    if len(set(names)) != len(names):
        c.fail("pricing.candidates", "unique names", names)
    if pricing["cost_mode"] not in COST_MODES:
        c.fail("pricing.cost_mode", f"one of {', '.join(COST_MODES)}", pricing["cost_mode"])
    standardise = pricing["cost_standardise"]
    if not isinstance(standardise, list) or len(standardise) != 2:
        c.fail("pricing.cost_standardise", "a list [mean, sd]", standardise)
    c.number(standardise[0], "pricing.cost_standardise[0]", -1e6, 1e6)
    c.number(standardise[1], "pricing.cost_standardise[1]", 0.0, 1e6, strict_low=True)
    catalog = pricing["catalog"]
    if catalog is None:
        if pricing["cost_mode"] == "tokens":
            c.fail("pricing.catalog", "a catalog (cost_mode 'tokens' prices answer lengths with it)", None)
        return
    c.obj(catalog, "pricing.catalog", ("candidates", "aggregator"))
    entries = catalog["candidates"]
    if not isinstance(entries, list):
        c.fail("pricing.catalog.candidates", "a list", entries)
    for i, entry in enumerate(entries):
        key = f"pricing.catalog.candidates[{i}]"
        c.obj(entry, key, CATALOG_COLUMNS, (CACHED_COLUMN,))
        c.text(entry["name"], f"{key}.name")
        if not isinstance(entry["provider_model_id"], str):
            c.fail(f"{key}.provider_model_id", "a string", entry["provider_model_id"])
        for price in ("input_usd_per_1m", "output_usd_per_1m", CACHED_COLUMN):
            if price in entry:
                c.number(entry[price], f"{key}.{price}", 0.0, 1e6)
        c.whole(entry["typical_output_tokens"], f"{key}.typical_output_tokens", 0, 10_000_000)
    catalog_names = [e["name"] for e in entries]
    if catalog_names != names:
        raise RouterInputError(f"{c.source}: pricing.catalog names ({', '.join(map(str, catalog_names))}) must equal the "
                               f"candidates in order ({', '.join(names)}); the artifact was edited or damaged, train it again")
    if catalog["aggregator"] is not None and catalog["aggregator"] not in names:
        c.fail("pricing.catalog.aggregator", f"null or one of {', '.join(names)}", catalog["aggregator"])


def _check_quality(c: _Checker, quality) -> None:
    c.obj(quality, "quality", (*QUALITY_WEIGHTS, "n_neighbours", "task_types", "sha256", "bytes"))
    for name in QUALITY_WEIGHTS:
        c.number(quality[name], f"quality.{name}", 0.0, 1.0)
    if sum(quality[name] for name in QUALITY_WEIGHTS[:4]) > 1.0 + 1e-6:
        c.fail("quality", "weights summing to at most 1", [quality[n] for n in QUALITY_WEIGHTS[:4]])
    c.whole(quality["n_neighbours"], "quality.n_neighbours", 1, 1_000_000)
    types = quality["task_types"]
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        c.fail("quality.task_types", "a list of strings", types)
    c.hexdigest(quality["sha256"], "quality.sha256")
    c.whole(quality["bytes"], "quality.bytes", 1, MAX_FILE_BYTES)


def _check_file_entry(c: _Checker, entry, key: str, extra=()) -> None:
    c.obj(entry, key, ("file", "sha256", "bytes"), extra)
    from router_core.files import plain_name

    plain_name(entry["file"], f"{c.source}: {key}.file")
    c.hexdigest(entry["sha256"], f"{key}.sha256")
    c.whole(entry["bytes"], f"{key}.bytes", 1, MAX_FILE_BYTES)


def _check_onnx(c: _Checker, export) -> None:
    c.obj(export, "onnx", ("head", "encoder", "source_weights_sha256", "int8", ONNX_DIGEST),
          ("opset", "exported_with", "fp32_max_abs_difference_vs_torch", "int8_gate"))
    _check_file_entry(c, export["head"], "onnx.head")
    encoders = c.obj(export["encoder"], "onnx.encoder", (), ONNX_VARIANTS)
    for variant, entry in encoders.items():
        _check_file_entry(c, entry, f"onnx.encoder.{variant}", ("quantisation",))
    if not isinstance(export["int8"], bool):
        c.fail("onnx.int8", "true or false", export["int8"])
    if export["int8"] and "int8" not in encoders:
        c.fail("onnx.encoder", "an int8 entry when onnx.int8 is true", sorted(encoders))
    c.hexdigest(export["source_weights_sha256"], "onnx.source_weights_sha256")
