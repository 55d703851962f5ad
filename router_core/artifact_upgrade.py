"""Converting a version-1 router artifact (one weights file, a flat config, an optional "blend") to the current format.

Only the layout changes: the network's tensors are copied as they are and the quality stage is rebuilt from the same
arrays, so the converted router makes the same decisions. An ONNX export in the folder stays valid (its graphs hold
the network, which is unchanged) and is re-pointed at the new weights file.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file

from .artifact import CONFIG_FILE, FORMAT_VERSION, WEIGHTS_FILE, checked_bytes, staging_folder, swap_into_place, write_files
from .catalog import Catalog
from .config import RouterConfig
from .encoder import Encoder
from .errors import RouterInputError
from .fitting import RouterParts, TrainingRecord
from .net import RouterNet
from .policy import CostScale
from .pricing import Pricing
from .quality.linear import LinearEvidence
from .quality.neighbours import NeighbourEvidence
from .quality.peer import PeerEvidence
from .quality.stage import QualityStage
from .quality.task_type import TaskTypeEvidence
from .scoring import ScoringPipeline

# Version-1 settings that no longer exist: levers that were never switched on in a shipped router.
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
    meta_path, weights_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    try:
        meta = json.loads(meta_path.read_text())
    except FileNotFoundError as e:
        raise RouterInputError(f"{folder}: not a router artifact (no {CONFIG_FILE})") from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RouterInputError(f"{meta_path}: not valid JSON ({e})") from e
    if not isinstance(meta, dict) or meta.get("format_version") not in (1, FORMAT_VERSION):
        raise RouterInputError(f"{meta_path}: not a router artifact this CrossRoute can convert (format_version "
                               f"{meta.get('format_version') if isinstance(meta, dict) else None!r})")
    if meta["format_version"] == FORMAT_VERSION:
        return False
    checked_bytes(weights_path, meta.get("weights_sha256"))
    try:
        tensors = load_file(str(weights_path))
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
    except (KeyError, TypeError, ValueError, AttributeError, SafetensorError) as e:
        raise RouterInputError(f"{folder}: version-1 artifact is incomplete or damaged ({type(e).__name__}: {e})") from e
    net = RouterNet(int(tensors["net.candidate_readout"].shape[1]), len(candidates), config.model.attention_dim,
                    config.model.hidden_dim, config.model.dropout)
    net.load_state_dict({k[len("net."):]: v for k, v in tensors.items() if k.startswith("net.")})
    encoder_state = {k[len("encoder."):]: v for k, v in tensors.items() if k.startswith("encoder.")}
    pipeline = ScoringPipeline(Encoder.__new__(Encoder), net, quality, pricing, encoder_state)  # writing needs no encoder
    staging = staging_folder(folder)
    try:
        new_meta = write_files(staging, config, RouterParts(pipeline, cost_scale, record))
        if meta.get("onnx"):
            for entry in [meta["onnx"]["head"], *meta["onnx"]["encoder"].values()]:
                shutil.copy2(folder / entry["file"], staging / entry["file"])
            new_meta["onnx"] = {**meta["onnx"], "source_weights_sha256": new_meta["weights_sha256"]}
            (staging / CONFIG_FILE).write_text(json.dumps(new_meta, indent=2, default=float) + "\n")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    swap_into_place(staging, folder)
    return True

