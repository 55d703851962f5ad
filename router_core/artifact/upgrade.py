"""Converting a version-1 router artifact (one weights file, a flat config, an optional "blend") to the current format.

Only the layout changes: the network's tensors are copied as they are and the quality stage is rebuilt from the same
arrays, so the converted router makes the same decisions. An ONNX export in the folder stays valid (its graphs hold
the network, which is unchanged) and is re-pointed at the new weights file. A version-2 router.json written before
it recorded its own digest, its files' sizes and its encoder's fingerprint gets them, after the same checks as loading.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load as load_tensors

from router_core.artifact.schema import META_DIGEST, ONNX_DIGEST, check_meta, seal
from router_core.artifact.store import (
    CONFIG_FILE,
    FORMAT_VERSION,
    QUALITY_FILE,
    WEIGHTS_FILE,
    _stored_config,
    checked_bytes,
    digest,
    read_json,
    read_meta,
    replace_folder,
    write_files,
    write_meta,
)
from router_core.config import RouterConfig
from router_core.data.catalog import Catalog
from router_core.errors import RouterInputError
from router_core.files import plain_name, read_confined, recover
from router_core.model.encoder import Encoder
from router_core.model.net import RouterNet
from router_core.model.parts import RouterParts, TrainingRecord
from router_core.model.pricing import Pricing
from router_core.model.scoring import ScoringPipeline
from router_core.policy.rule import CostScale
from router_core.quality.linear import LinearEvidence
from router_core.quality.neighbours import NeighbourEvidence
from router_core.quality.peer import PeerEvidence
from router_core.quality.stage import QualityStage
from router_core.quality.task_type import TaskTypeEvidence

# Version-1 settings that no longer exist: levers that were never switched on in a shipped router.
MAX_GRAPH_BYTES = 4 * 2**30  # an ONNX graph entry of version 1 without a recorded size
RETIRED = {"pooled_feature": False, "early_stop_on": "quality", "ranking_loss_weight": 0.0}


def _config(flat: dict) -> RouterConfig:
    for name, inert in RETIRED.items():
        if flat.get(name, inert) != inert:
            raise RouterInputError(f"config: {name}={flat[name]!r} is no longer supported; train a new router")
    settings = {k: v for k, v in flat.items() if k not in RETIRED}
    if "blend" in settings:
        settings["quality_stage"] = settings.pop("blend")
    return RouterConfig.of(**settings)


def _quality(tensors: dict, weights: dict | None, n_models: int) -> QualityStage | None:
    if not weights:
        return None

    def array(name, default=None):
        key = f"blend.{name}"
        return tensors[key].float().numpy() if key in tensors else default

    memory = array("memory")
    types = tuple(weights.get("task_types", ()))
    task_type = (TaskTypeEvidence(types, array("task_coef"), array("task_intercept"), array("task_quality")) if types
                 else TaskTypeEvidence.empty(memory.shape[1], n_models))
    peer = (PeerEvidence(array("peer_coef"), array("peer_intercept"), array("peer_weight")) if "blend.peer_weight" in tensors
            else PeerEvidence.none(n_models))
    return QualityStage(array("prior").astype(float), NeighbourEvidence(memory, array("memory_quality").astype(float), int(weights["n_neighbours"])),
                        LinearEvidence(array("linear_coef"), array("linear_intercept")), task_type, peer,
                        float(weights["net_weight"]), float(weights["neighbour_weight"]), float(weights["linear_weight"]),
                        float(weights.get("task_type_weight", 0.0)))


def upgrade(folder: str | Path) -> bool:
    """Convert `folder` in place; False when it is already current. Raises RouterInputError naming what is wrong."""
    folder = Path(folder)
    recover(folder)
    meta = read_json(folder)
    meta_path = folder / CONFIG_FILE
    if meta.get("format_version") not in (1, FORMAT_VERSION):
        raise RouterInputError(f"{meta_path}: not a router artifact this CrossRoute can convert (format_version "
                               f"{meta.get('format_version')!r})")
    if meta["format_version"] == FORMAT_VERSION:
        export = meta.get("onnx")
        if META_DIGEST in meta and not (isinstance(export, dict) and ONNX_DIGEST not in export):
            read_meta(folder)  # current: only say so if it is sound
            return False
        return _seal_version_2(folder, meta)
    return _from_version_1(folder, meta)


def _seal_version_2(folder: Path, meta: dict) -> bool:
    """A version-2 router.json written before it recorded its own digest, file sizes and encoder fingerprint."""
    weights = checked_bytes(folder / WEIGHTS_FILE, meta.get("weights_sha256"))
    sealed = {**meta, "weights_bytes": len(weights)}
    try:
        settings = RouterConfig.from_dict(meta["config"])
        sealed["config"], fingerprint = _stored_config(settings)
        if fingerprint is not None:
            sealed["encoder_sha256"] = fingerprint
        if meta.get("quality"):
            quality = checked_bytes(folder / QUALITY_FILE, meta["quality"].get("sha256"))
            sealed["quality"] = {**meta["quality"], "bytes": len(quality)}
    except (KeyError, TypeError, AttributeError) as e:
        raise RouterInputError(f"{folder}: version-2 artifact is incomplete or damaged ({type(e).__name__}: {e})") from e
    check_meta(seal(sealed), str(folder / CONFIG_FILE))

    def fill(staging: Path) -> None:
        for item in folder.iterdir():
            if item.is_file() and not item.is_symlink() and item.name != CONFIG_FILE:
                shutil.copy2(item, staging / item.name)
        write_meta(staging, sealed)

    replace_folder(folder, fill)
    return True


def _from_version_1(folder: Path, meta: dict) -> bool:
    weights_path = folder / WEIGHTS_FILE
    weights = checked_bytes(weights_path, meta.get("weights_sha256"))
    try:
        tensors = load_tensors(weights)
        config = _config(meta["config"])
        catalog = Catalog.from_dict(meta["catalog"]) if meta.get("catalog") else None
        candidates = list(meta["candidates"])
        pricing = Pricing(tuple(candidates), catalog, meta["cost_mode"], tuple(meta["cost_standardise"]))
        quality = _quality(tensors, meta.get("blend"), len(candidates))
        training = dict(meta.get("training", {}))
        if isinstance(training.get("blend"), dict):
            record = dict(training.pop("blend"))
            if "net_weight" in record:
                record["network_weight"] = record.pop("net_weight")
            training["quality_stage"] = record
        record = TrainingRecord.from_dict({**training, "history": meta.get("history", {})})
        cost_scale = CostScale(**meta["cost_scale"])
        net = RouterNet(int(tensors["net.candidate_readout"].shape[1]), len(candidates), config.model.attention_dim,
                        config.model.hidden_dim, config.model.dropout)
        net.load_state_dict({k[len("net."):]: v for k, v in tensors.items() if k.startswith("net.")})
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RuntimeError, SafetensorError) as e:
        if isinstance(e, RouterInputError):
            raise
        raise RouterInputError(f"{folder}: version-1 artifact is incomplete or damaged ({type(e).__name__}: {e})") from e
    encoder_state = {k[len("encoder."):]: v for k, v in tensors.items() if k.startswith("encoder.")}
    pipeline = ScoringPipeline(Encoder.__new__(Encoder), net, quality, pricing, encoder_state)  # writing needs no encoder
    export = meta.get("onnx")

    def fill(staging: Path) -> None:
        extra = None
        if export:
            try:
                section = {**export, "head": dict(export["head"]),
                           "encoder": {variant: dict(entry) for variant, entry in export["encoder"].items()}}
                for entry in [section["head"], *section["encoder"].values()]:
                    name = plain_name(entry["file"], f"{folder / CONFIG_FILE}: onnx section")
                    data = read_confined(folder, name, entry.get("bytes") or MAX_GRAPH_BYTES)
                    (staging / name).write_bytes(data)
                    entry["bytes"] = len(data)
            except (KeyError, TypeError, AttributeError) as e:
                raise RouterInputError(f"{folder}: router.json's onnx section is damaged ({type(e).__name__}: {e})") from e
            extra = {"onnx": {**section, "source_weights_sha256": digest(weights)}}
        write_files(staging, config, RouterParts(pipeline, cost_scale, record), extra)

    replace_folder(folder, fill)
    return True
