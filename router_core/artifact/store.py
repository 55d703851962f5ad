"""The router artifact on disk: a folder with router.json, router.safetensors (network and tuned encoder layers),
quality.safetensors (the quality stage) and, after `export-onnx`, ONNX graphs. Written to a temporary folder and
swapped into place; loading checks router.json's own digest and structure, then the size and digest of every file it
reads, reads only regular files inside the folder, and never unpickles.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as load_arrays
from safetensors.numpy import save_file
from safetensors.numpy import save_file as save_arrays

from router_core.artifact.schema import META_DIGEST, check_meta, seal, seal_matches
from router_core.config import DEFAULT_ENCODER, RouterConfig
from router_core.data.catalog import Catalog
from router_core.errors import RouterInputError
from router_core.files import (  # noqa: F401 (re-exported)
    read_confined,
    recover,
    retired_name,
    staging_folder,
    swap_into_place,
)
from router_core.model.onnx_backend import choose_variant, load_onnx_scorer
from router_core.model.parts import RouterParts, TrainingRecord
from router_core.model.pricing import Pricing
from router_core.model.scoring import Deferred, ScoringPipeline
from router_core.model.text import check_max_tokens, encoder_fingerprint, plain_settings, resolve_encoder_path
from router_core.model.tokenizer import load_tokenizer
from router_core.policy.guard import GuardRange
from router_core.policy.rule import CostScale
from router_core.quality import QualityStage

FORMAT_VERSION = 2
CONFIG_FILE = "router.json"
WEIGHTS_FILE = "router.safetensors"
QUALITY_FILE = "quality.safetensors"
MAX_META_BYTES = 32 * 2**20  # router.json holds settings and a training record: far below this
HOW_TO_FIX = "train it again, or to change prices pass --catalog FILE instead of editing router.json"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def network_tensors(pipeline: ScoringPipeline) -> dict[str, np.ndarray]:
    """The network's and the tuned encoder layers' arrays, as router.safetensors stores them."""
    return {k: v for k, v in pipeline.tensors().items() if k.startswith(("net.", "encoder."))}


def _stored_config(config: RouterConfig, used_max_tokens: int | None = None) -> tuple[dict, str | None]:
    """router.json's config (a local encoder as an absolute path, the token limit the encoder really applied) and the
    encoder's fingerprint (None for the default)."""
    settings = config.to_dict()
    if used_max_tokens is not None:
        settings["model"]["max_tokens"] = int(used_max_tokens)
    name = config.model.encoder
    if name == DEFAULT_ENCODER:
        return settings, None
    path = resolve_encoder_path(name).resolve()
    settings["model"]["encoder"] = str(path)
    return settings, encoder_fingerprint(path)


def write_meta(folder: Path, meta: dict) -> dict:
    """Seal `meta` with its content digest and write it as router.json in `folder`; returns what was written."""
    sealed = seal(meta)
    (folder / CONFIG_FILE).write_text(json.dumps(sealed, indent=2, default=float) + "\n")
    return sealed


def write_files(staging: Path, config: RouterConfig, parts: RouterParts, extra: dict | None = None) -> dict:
    """Write the weight files and router.json into `staging`; returns router.json's content."""
    pipeline = parts.pipeline
    settings, fingerprint = _stored_config(config, getattr(pipeline.encoder, "max_tokens", None))
    save_file(network_tensors(pipeline), str(staging / WEIGHTS_FILE))
    weights = (staging / WEIGHTS_FILE).read_bytes()
    meta = {"format_version": FORMAT_VERSION, "config": settings, "pricing": pipeline.pricing.to_dict(),
            "cost_scale": {"log_min": parts.cost_scale.log_min, "log_max": parts.cost_scale.log_max, "weight": parts.cost_scale.weight},
            "quality": None, "training": parts.record.to_dict(), "weights_sha256": digest(weights), "weights_bytes": len(weights)}
    if parts.guard:
        meta["guard"] = [g.to_json() for g in parts.guard]
    if fingerprint is not None:
        meta["encoder_sha256"] = fingerprint
    if pipeline.quality is not None:
        save_arrays(pipeline.quality.to_tensors(), str(staging / QUALITY_FILE))
        arrays = (staging / QUALITY_FILE).read_bytes()
        meta["quality"] = {**pipeline.quality.weights(), "sha256": digest(arrays), "bytes": len(arrays)}
    meta.update(extra or {})
    return write_meta(staging, meta)


def replace_folder(folder: Path, fill) -> Path:
    """Stage a new artifact with `fill(staging)` and swap it into place; a failure leaves the old artifact as it was.

    A full disk or another OSError becomes a RouterInputError naming the folder.
    """
    recover(folder)
    try:
        staging = staging_folder(folder)
    except OSError as e:
        raise RouterInputError(f"{folder}: cannot write the artifact here ({e.strerror}); the existing one is unchanged") from e
    try:
        fill(staging)
        swap_into_place(staging, folder)
    except OSError as e:
        shutil.rmtree(staging, ignore_errors=True)
        why = "the disk is full" if e.errno == errno.ENOSPC else e.strerror or str(e)
        raise RouterInputError(f"{folder}: could not save the artifact ({why}); the existing one, if any, is unchanged") from e
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def save(folder: str | Path, config: RouterConfig, parts: RouterParts) -> Path:
    """A fresh artifact (no ONNX graphs: they describe the weights they were exported from)."""
    return replace_folder(Path(folder), lambda staging: write_files(staging, config, parts))


def read_json(folder: Path) -> dict:
    """router.json parsed (an object), read under the confinement rules; no checks beyond that."""
    meta_path = folder / CONFIG_FILE
    try:
        text = read_confined(folder, CONFIG_FILE, MAX_META_BYTES).decode("utf-8")
        meta = json.loads(text)
    except FileNotFoundError as e:
        raise RouterInputError(f"{folder}: not a router artifact (no {CONFIG_FILE}); train one with `python -m router_core train`") from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RouterInputError(f"{meta_path}: not valid JSON ({e})") from e
    except RecursionError as e:
        raise RouterInputError(f"{meta_path}: nested too deeply to be a router.json") from e
    if not isinstance(meta, dict):
        raise RouterInputError(f"{meta_path}: expected a JSON object, got {type(meta).__name__}")
    return meta


def read_meta(folder: str | Path) -> dict:
    """router.json, its format version, content digest and structure checked."""
    folder = Path(folder)
    recover(folder)
    meta = read_json(folder)
    meta_path = folder / CONFIG_FILE
    version = meta.get("format_version")
    if version == 1:
        raise RouterInputError(f"{meta_path}: format_version 1, written by an older CrossRoute; convert it in place with "
                               f"`python -m router_core upgrade --router {folder}` (same decisions) or train a new router")
    if version != FORMAT_VERSION:
        raise RouterInputError(f"{meta_path}: format_version {version!r}; this CrossRoute reads version {FORMAT_VERSION}")
    if META_DIGEST not in meta:
        raise RouterInputError(f"{meta_path}: records no digest of its own content (written by an older CrossRoute); add one "
                               f"with `python -m router_core upgrade --router {folder}`")
    try:
        recorded_ok = seal_matches(meta)
    except (RecursionError, ValueError, TypeError) as e:
        raise RouterInputError(f"{meta_path}: cannot be a router.json ({type(e).__name__})") from e
    if not recorded_ok:
        export = meta.get("onnx")
        if isinstance(export, dict) and export.get("source_weights_sha256") != meta.get("weights_sha256"):
            raise RouterInputError(f"{folder}: the ONNX export was made from other weights than router.safetensors; "
                                   f"re-run `python -m router_core export-onnx --router {folder}`")
        raise RouterInputError(f"{meta_path}: changed since it was written (its content digest does not match); {HOW_TO_FIX}")
    return check_meta(meta, str(meta_path))


def checked_bytes(path: Path, expected: str | None, size: int | None = None) -> bytes:
    """The bytes of artifact file `path` if their sha256 is `expected`; reads at most `size` bytes (checked first)."""
    try:
        data = read_confined(path.parent, path.name, size if size is not None else MAX_META_BYTES * 256)
    except FileNotFoundError as e:
        raise RouterInputError(f"{path.parent}: not a router artifact (no {path.name}); train one with `python -m router_core train`") from e
    if digest(data) != expected:
        raise RouterInputError(f"{path}: digest does not match router.json (the file is damaged or from another router)")
    return data


def stored_encoder(folder: Path, meta: dict) -> str:
    """The encoder router.json names, if it may be used: the packaged default, or the folder the router was trained
    with, unchanged since (its fingerprint is in router.json). A path inside the artifact folder counts from there."""
    name = meta["config"].get("model", {}).get("encoder", DEFAULT_ENCODER)  # as RouterConfig.from_dict defaults it
    if name == DEFAULT_ENCODER:
        return name
    path = Path(name) if os.path.isabs(name) else folder / name
    fix = ("pass the encoder explicitly (Router.load(..., encoder=Encoder.load(DIR))) if you trust it, or train the "
           "router again")
    if meta.get("encoder_sha256") is None:
        raise RouterInputError(f"{folder / CONFIG_FILE}: names encoder {name!r} but records no fingerprint of it; {fix}")
    if not (path / "config.json").is_file():
        raise RouterInputError(f"{folder / CONFIG_FILE}: encoder {name!r} is not a folder with config.json (moved or "
                               f"deleted since training?); {fix}")
    if encoder_fingerprint(path) != meta["encoder_sha256"]:
        raise RouterInputError(f"{folder / CONFIG_FILE}: encoder folder {name!r} has changed since the router was trained; {fix}")
    return str(path)


def load(folder: str | Path, encoder=None, backend: str = "auto", threads: int | None = None) -> tuple[RouterConfig, RouterParts]:
    """Rebuild a saved router's config and parts. See Router.load.

    With an ONNX export (and no encoder given) nothing here imports torch: the torch encoder and network are deferred
    until something asks for them."""
    folder = Path(folder)
    meta = read_meta(folder)
    weights_path = folder / WEIGHTS_FILE
    weights = checked_bytes(weights_path, meta["weights_sha256"], meta["weights_bytes"])
    try:
        arrays = load_arrays(weights)
        config = RouterConfig.from_dict(meta["config"])
        pricing_meta = meta["pricing"]
        catalog = Catalog.from_dict(pricing_meta["catalog"]) if pricing_meta.get("catalog") else None
        pricing = Pricing(tuple(pricing_meta["candidates"]), catalog, pricing_meta["cost_mode"], tuple(pricing_meta["cost_standardise"]))
        cost_scale = CostScale(**meta["cost_scale"])
        guard = tuple(GuardRange(**g) for g in meta.get("guard") or ())
        record = TrainingRecord.from_dict(meta.get("training", {}))
        quality = None
        if meta.get("quality"):
            quality_arrays = load_quality_arrays(folder, meta["quality"]["sha256"], meta["quality"]["bytes"])
            quality = QualityStage.from_tensors(quality_arrays, meta["quality"])
            _check_quality_shape(folder, quality, len(pricing.candidates))
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, SafetensorError) as e:
        if isinstance(e, RouterInputError):
            raise
        raise RouterInputError(f"{folder}: router artifact is incomplete or damaged ({type(e).__name__}: {e})") from e
    model = config.model
    variant = choose_variant(meta, folder, backend)
    if variant is None or encoder is not None:  # torch scores (or an encoder was handed over): build it all now
        enc, net, encoder_state = _torch_parts(folder, meta, config, arrays, len(pricing.candidates), encoder)
        scorer = (load_onnx_scorer(folder, meta, variant, lambda: enc.tokenizer, enc.max_tokens, threads)
                  if variant is not None else None)
        pipeline = ScoringPipeline(enc, net, quality, pricing, encoder_state, scorer)
        return config, RouterParts(pipeline, cost_scale, record, guard)
    name = stored_encoder(folder, meta)
    path = resolve_encoder_path(name)
    settings = plain_settings(path)
    if settings is not None:
        check_max_tokens(name, model.max_tokens, settings[1])
    built: dict = {}

    def torch_parts():  # one build for the three deferred parts
        if not built:
            built["parts"] = _torch_parts(folder, meta, config, arrays, len(pricing.candidates), None)
        return built["parts"]

    scorer = load_onnx_scorer(folder, meta, variant, lambda: load_tokenizer(path, model.max_tokens), model.max_tokens, threads)
    pipeline = ScoringPipeline(Deferred(lambda: torch_parts()[0]), Deferred(lambda: torch_parts()[1]), quality, pricing,
                               Deferred(lambda: torch_parts()[2]), scorer, weights=dict(arrays))
    return config, RouterParts(pipeline, cost_scale, record, guard)


def _torch_parts(folder: Path, meta: dict, config: RouterConfig, arrays: dict, n_models: int, encoder=None):
    """(encoder, network, tuned encoder layers) in torch, from the artifact's arrays."""
    import torch

    from router_core.model.net import RouterNet

    model = config.model
    enc = encoder or _load_stored_encoder(folder, meta, model.max_tokens, lazy=True)
    tensors = {k: torch.from_numpy(np.array(v)) for k, v in arrays.items()}
    net = RouterNet(enc.dim, n_models, model.attention_dim, model.hidden_dim, model.dropout)
    try:
        net.load_state_dict({k[len("net."):]: v for k, v in tensors.items() if k.startswith("net.")})
    except RuntimeError as e:
        raise RouterInputError(f"{folder / WEIGHTS_FILE}: weights do not fit router.json's configuration "
                               f"({str(e).splitlines()[0]})") from e
    net.eval()
    encoder_state = {k[len("encoder."):]: v for k, v in tensors.items() if k.startswith("encoder.")}
    if encoder_state:
        if encoder is not None:
            enc = enc.copy()  # its tuned layers must not leak into the shared encoder
        enc.load_tuned_layers(encoder_state)
    return enc, net, encoder_state


def _load_stored_encoder(folder: Path, meta: dict, max_tokens: int, lazy: bool):
    from router_core.model.encoder import Encoder

    name = stored_encoder(folder, meta)
    try:
        return Encoder.load(name, max_tokens, lazy=lazy)
    except RouterInputError as e:
        raise RouterInputError(f"{folder / CONFIG_FILE}: {e}") from e
    except (OSError, ValueError) as e:  # a tokeniser or weights transformers cannot read
        raise RouterInputError(f"{folder / CONFIG_FILE}: encoder {name!r} cannot be loaded ({type(e).__name__}: {e})") from e


def _check_quality_shape(folder: Path, quality: QualityStage, n_models: int) -> None:
    if len(quality.prior) != n_models:
        raise RouterInputError(f"{folder / QUALITY_FILE}: holds {len(quality.prior)} models but router.json lists {n_models}; {HOW_TO_FIX}")


def load_quality_arrays(folder: Path, expected: str | None, size: int | None = None) -> dict[str, np.ndarray]:
    path = folder / QUALITY_FILE
    if not path.exists() and not path.is_symlink():
        raise RouterInputError(f"{folder}: router.json describes a quality stage but {QUALITY_FILE} is missing")
    return load_arrays(checked_bytes(path, expected, size))
