"""The router artifact on disk: a folder with router.json, router.safetensors (network and tuned encoder layers),
quality.safetensors (the quality stage) and, after `export-onnx`, ONNX graphs. Written to a temporary folder and
renamed into place; loading checks the format version and the digest of every file it reads, and never unpickles.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import load_file as load_arrays, save_file as save_arrays
from safetensors.torch import load_file, save_file

from .catalog import Catalog
from .config import RouterConfig
from .encoder import Encoder
from .errors import RouterInputError
from .fitting import RouterParts, TrainingRecord
from .net import RouterNet
from .onnx_backend import choose_variant, load_onnx_scorer
from .policy import CostScale
from .pricing import Pricing
from .quality import QualityStage
from .scoring import ScoringPipeline

FORMAT_VERSION = 2
CONFIG_FILE = "router.json"
WEIGHTS_FILE = "router.safetensors"
QUALITY_FILE = "quality.safetensors"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def staging_folder(folder: Path) -> Path:
    """An empty temporary folder beside `folder`, on the same file system so it can be renamed into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))


def swap_into_place(staging: Path, folder: Path) -> None:
    """Replace `folder` by the fully written `staging` with renames: readers see the old artifact or the new, never half."""
    try:
        os.chmod(staging, 0o755)
        if folder.exists():
            retired = folder.with_name(f".{folder.name}.old-{os.getpid()}")
            os.replace(folder, retired)
            os.replace(staging, folder)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def network_tensors(pipeline: ScoringPipeline) -> dict[str, torch.Tensor]:
    tensors = {f"net.{k}": v.detach().contiguous() for k, v in pipeline.net.state_dict().items()}
    tensors.update({f"encoder.{k}": v.contiguous() for k, v in pipeline.encoder_state.items()})
    return tensors


def write_files(staging: Path, config: RouterConfig, parts: RouterParts) -> dict:
    """Write the weight files and router.json into `staging`; returns router.json's content."""
    pipeline = parts.pipeline
    save_file(network_tensors(pipeline), str(staging / WEIGHTS_FILE))
    meta = {"format_version": FORMAT_VERSION, "config": config.to_dict(), "pricing": pipeline.pricing.to_dict(),
            "cost_scale": {"log_min": parts.cost_scale.log_min, "log_max": parts.cost_scale.log_max, "weight": parts.cost_scale.weight},
            "quality": None, "training": parts.record.to_dict(),
            "weights_sha256": digest((staging / WEIGHTS_FILE).read_bytes())}
    if pipeline.quality is not None:
        save_arrays(pipeline.quality.to_tensors(), str(staging / QUALITY_FILE))
        meta["quality"] = {**pipeline.quality.weights(), "sha256": digest((staging / QUALITY_FILE).read_bytes())}
    (staging / CONFIG_FILE).write_text(json.dumps(meta, indent=2, default=float) + "\n")
    return meta


def save(folder: str | Path, config: RouterConfig, parts: RouterParts) -> Path:
    """A fresh artifact (no ONNX graphs: they describe the weights they were exported from)."""
    folder = Path(folder)
    staging = staging_folder(folder)
    try:
        write_files(staging, config, parts)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    swap_into_place(staging, folder)
    return folder


def read_meta(folder: Path) -> dict:
    meta_path = folder / CONFIG_FILE
    for path in (meta_path, folder / WEIGHTS_FILE):
        if not path.exists():
            raise RouterInputError(f"{folder}: not a router artifact (no {path.name}); train one with `python -m router_core train`")
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RouterInputError(f"{meta_path}: not valid JSON ({e})") from e
    if not isinstance(meta, dict):
        raise RouterInputError(f"{meta_path}: expected a JSON object, got {type(meta).__name__}")
    version = meta.get("format_version")
    if version == 1:
        raise RouterInputError(f"{meta_path}: format_version 1, written by an older CrossRoute; convert it in place with "
                               f"`python -m router_core upgrade --router {folder}` (same decisions) or train a new router")
    if version != FORMAT_VERSION:
        raise RouterInputError(f"{meta_path}: format_version {version!r}; this CrossRoute reads version {FORMAT_VERSION}")
    return meta


def checked_bytes(path: Path, expected: str | None) -> bytes:
    data = path.read_bytes()
    if digest(data) != expected:
        raise RouterInputError(f"{path}: digest does not match router.json (the file is damaged or from another router)")
    return data


def load(folder: str | Path, encoder: Encoder | None = None, backend: str = "auto", threads: int | None = None) -> tuple[RouterConfig, RouterParts]:
    """Rebuild a saved router's config and parts. See Router.load."""
    folder = Path(folder)
    meta = read_meta(folder)
    weights_path = folder / WEIGHTS_FILE
    checked_bytes(weights_path, meta.get("weights_sha256"))
    try:
        tensors = load_file(str(weights_path))
        config = RouterConfig.from_dict(meta["config"])
        pricing_meta = meta["pricing"]
        catalog = Catalog.from_dict(pricing_meta["catalog"]) if pricing_meta.get("catalog") else None
        pricing = Pricing(tuple(pricing_meta["candidates"]), catalog, pricing_meta["cost_mode"], tuple(pricing_meta["cost_standardise"]))
        cost_scale = CostScale(**meta["cost_scale"])
        record = TrainingRecord.from_dict(meta.get("training", {}))
        quality = None
        if meta.get("quality"):
            arrays = load_quality_arrays(folder, meta["quality"].get("sha256"))
            quality = QualityStage.from_tensors(arrays, meta["quality"])
    except (KeyError, TypeError, ValueError, AttributeError, SafetensorError) as e:
        raise RouterInputError(f"{folder}: router artifact is incomplete or damaged ({type(e).__name__}: {e})") from e
    model = config.model
    variant = choose_variant(meta, folder, backend)
    # With ONNX the torch encoder serves only its tokeniser (and baselines' features, on demand): load its weights late.
    enc = encoder or Encoder.load(model.encoder, model.max_tokens, lazy=variant is not None)
    net = RouterNet(enc.dim, len(pricing.candidates), model.attention_dim, model.hidden_dim, model.dropout)
    try:
        net.load_state_dict({k[len("net."):]: v for k, v in tensors.items() if k.startswith("net.")})
    except RuntimeError as e:
        raise RouterInputError(f"{weights_path}: weights do not fit router.json's configuration ({str(e).splitlines()[0]})") from e
    net.eval()
    encoder_state = {k[len("encoder."):]: v for k, v in tensors.items() if k.startswith("encoder.")}
    if encoder_state:
        if encoder is not None:
            enc = enc.copy()  # its tuned layers must not leak into the shared encoder
        enc.load_tuned_layers(encoder_state)
    scorer = (load_onnx_scorer(folder, meta, variant, enc.tokenizer, enc.max_tokens, threads) if variant is not None else None)
    return config, RouterParts(ScoringPipeline(enc, net, quality, pricing, encoder_state, scorer), cost_scale, record)


def load_quality_arrays(folder: Path, expected: str | None) -> dict[str, np.ndarray]:
    path = folder / QUALITY_FILE
    if not path.exists():
        raise RouterInputError(f"{folder}: router.json describes a quality stage but {QUALITY_FILE} is missing")
    checked_bytes(path, expected)
    return load_arrays(str(path))
