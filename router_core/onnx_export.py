"""`export-onnx`: the router's encoder and head as ONNX graphs in its artifact folder, int8 only where it keeps decisions.

Two graphs, not one: the encoder is nearly all of the compute and the only part quantised, while the small router
head stays fp32 so int8 rounding reaches the decisions only through the token states. Written like `Router.save`:
the whole folder is staged and renamed into place, and router.json records each file's sha256, which loading checks.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from router_core.artifact.schema import META_DIGEST, ONNX_DIGEST
from router_core.artifact.store import (
    CONFIG_FILE,
    read_json,
    read_meta,
    replace_folder,
    write_meta,
)
from router_core.data.labelled import LabelledSet, load_labelled
from router_core.errors import RouterInputError
from router_core.model.onnx_backend import HEAD_OUTPUTS, OnnxScorer
from router_core.model.scorer import TorchScorer
from router_core.policy.curves import default_lams, measure
from router_core.router import Router

OPSET = 18
ENCODER_FILE = "encoder.onnx"
ENCODER_INT8_FILE = "encoder.int8.onnx"
HEAD_FILE = "router_head.onnx"
EXPORT_FILES = (ENCODER_FILE, ENCODER_INT8_FILE, HEAD_FILE)
TORCH_TOLERANCE = 1e-4  # fp32 graphs must match torch this closely (absolute), or the export is a bug
# Fixed probe texts for the fp32 check: very different lengths in one padded batch, one past max_tokens.
PROBES = ["hi", "Write a Python function that merges two sorted lists and explain its complexity",
          "Prove that there are infinitely many primes, step by step. " * 20, "translate 'good morning' into French"]


@dataclass(frozen=True)
class Int8Gate:
    """When an int8 encoder may replace fp32: decisions and AIQ on labelled queries barely move."""

    min_agreement: float = 0.99  # share of (query, λ) hard decisions equal to fp32's
    max_aiq_drop: float = 0.005  # relative: int8 AIQ >= (1 - this) × fp32 AIQ
    n_lams: int = 21  # λ = 0, 0.05, …, 1: the dashboard slider's steps


class _EncoderGraph(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state


class _HeadGraph(nn.Module):
    """RouterNet plus the masked mean token state, which post-processing downstream of the net reads."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, states, attention_mask):
        mask = attention_mask > 0
        out = self.net(states, mask)
        maskf = mask.to(states.dtype).unsqueeze(-1)  # (B, L, 1)
        mean_state = (states * maskf).sum(dim=1) / maskf.sum(dim=1).clamp(min=1.0)  # (B, d)
        return out["weights"], out["quality"], out["cost"], out["attention"], mean_state


@contextlib.contextmanager
def _quiet(*loggers: str):
    """The exporter narrates each step on stdout and the quantiser advises on every call; the CLI prints a summary instead."""
    levels = {name: logging.getLogger(name).level for name in loggers}
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name in loggers:
                logging.getLogger(name).setLevel(logging.ERROR)
            yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _export(module: nn.Module, args: tuple, path: Path, input_names: list[str], output_names: list[str], dynamic_shapes) -> None:
    with _quiet("torch.onnx"):
        torch.onnx.export(module.eval(), args, str(path), dynamo=True, external_data=False, opset_version=OPSET,
                          input_names=input_names, output_names=output_names, dynamic_shapes=dynamic_shapes, verbose=False)


def export_graphs(router: Router, folder: Path) -> None:
    """Write ENCODER_FILE (token ids -> token states, tuned layers included) and HEAD_FILE (states -> scores) to `folder`."""
    encoder = router.encoder
    batch = encoder.tokenize(PROBES[:2])  # two lengths, so no dimension is traced as fixed
    batch_dim = torch.export.Dim("batch")
    token_dim = torch.export.Dim("tokens", max=int(encoder.model.config.max_position_embeddings))
    ids = ("input_ids", "attention_mask", "token_type_ids")
    args = tuple(batch[n] if n in batch else torch.zeros_like(batch["input_ids"]) for n in ids)
    _export(_EncoderGraph(encoder.model), args, folder / ENCODER_FILE, list(ids), ["states"],
            tuple({0: batch_dim, 1: token_dim} for _ in ids))
    _export_head(router, folder / HEAD_FILE)


def _export_head(router: Router, path: Path) -> None:
    batch_dim = torch.export.Dim("batch")
    token_dim = torch.export.Dim("tokens", max=int(router.encoder.model.config.max_position_embeddings))
    states = torch.randn(2, 5, router.encoder.dim)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    _export(_HeadGraph(router.parts.pipeline.net), (states, mask), path, ["states", "attention_mask"], HEAD_OUTPUTS,
            ({0: batch_dim, 1: token_dim}, {0: batch_dim, 1: token_dim}))


def with_onnx_head(router: Router, source: Router) -> Router:
    """`router` (e.g. `source` with a model added) scoring through ONNX Runtime like `source`: `source`'s encoder
    graph, which adding a model leaves as it is, and a freshly exported head. `router` itself when `source` does
    not score with ONNX or their encoders differ."""
    import tempfile

    from router_core.model.onnx_backend import OnnxScorer

    scorer = source.parts.pipeline.scorer()
    if not isinstance(scorer, OnnxScorer) or router.encoder is not source.encoder:
        return router
    with tempfile.TemporaryDirectory(prefix="crossroute-head-") as folder:
        _export_head(router, Path(folder) / HEAD_FILE)
        head = (Path(folder) / HEAD_FILE).read_bytes()
    twin = OnnxScorer(router.encoder.tokenizer, scorer.encoder_graph, head, router.encoder.max_tokens, scorer.name)
    return router.with_parts(pipeline=router.parts.pipeline.replaced(scorer=twin))


def quantise_encoder(fp32: Path, int8: Path) -> None:
    """Dynamic int8 quantisation with one weight scale per output channel (per-tensor scales lose more on MiniLM)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet(""):  # its advice to pre-process goes to the root logger
        quantize_dynamic(str(fp32), str(int8), per_channel=True, weight_type=QuantType.QInt8)


def _with_scorer(router: Router, scorer) -> Router:
    """A twin of `router` that scores with `scorer`, with its own empty cache and no disk cache."""
    pipeline = router.parts.pipeline.replaced(scorer=scorer)
    pipeline.attach_disk_cache(None)
    return router.with_parts(pipeline=pipeline)


def _scorer(router: Router, folder: Path, encoder_file: str, name: str) -> OnnxScorer:
    return OnnxScorer(router.encoder.tokenizer, (folder / encoder_file).read_bytes(), (folder / HEAD_FILE).read_bytes(),
                      router.encoder.max_tokens, name)


def fp32_difference(router: Router, folder: Path) -> float:
    """Largest absolute difference between the fp32 graphs and torch over every output on PROBES."""
    onnx = _scorer(router, folder, ENCODER_FILE, "onnx-fp32").score(PROBES)
    reference = TorchScorer(router.encoder, router.parts.pipeline.net).score(PROBES)
    return max(float(np.abs(a - b).max()) for got, want in zip(onnx, reference) for a, b in zip(got, want))


def _aiq(router: Router, scores, data: LabelledSet) -> float:
    return measure(scores.quality, scores.cost, data, router.policy(), default_lams(201))[1]["aiq"]


def int8_gate(router: Router, folder: Path, data: LabelledSet, gate: Int8Gate, progress=None) -> dict:
    """fp32 and int8 graphs side by side on `data`: decision agreement over the λ grid, and AIQ of each.

    Args:
        progress: callable(stage, done, total); stage is "fp32" or "int8".
    """
    lams = np.linspace(0.0, 1.0, gate.n_lams)
    scores = {}
    for variant, file in (("fp32", ENCODER_FILE), ("int8", ENCODER_INT8_FILE)):
        twin = _with_scorer(router, _scorer(router, folder, file, f"onnx-{variant}"))
        bar = (lambda done, total, v=variant: progress(v, done, total)) if progress else None
        scores[variant] = (twin, twin.scores(data.queries, progress=bar))
    (fp32, fp32_scores), (int8, int8_scores) = scores["fp32"], scores["int8"]
    agreement = float(np.mean(fp32.sweep(fp32_scores, lams).choices == int8.sweep(int8_scores, lams).choices))
    aiq_fp32, aiq_int8 = _aiq(router, fp32_scores, data), _aiq(router, int8_scores, data)
    drop = (aiq_fp32 - aiq_int8) / aiq_fp32 if aiq_fp32 > 0 else 0.0
    return {"accepted": bool(agreement >= gate.min_agreement and drop <= gate.max_aiq_drop), "data": data.source,
            "n_queries": len(data), "n_lams": gate.n_lams, "decision_agreement": round(agreement, 6),
            "aiq_fp32": round(aiq_fp32, 6), "aiq_int8": round(aiq_int8, 6), "aiq_drop": round(drop, 6),
            "thresholds": {"min_agreement": gate.min_agreement, "max_aiq_drop": gate.max_aiq_drop}}


def gate_sample(router: Router, data: LabelledSet, sample: int, seed: int = 0) -> LabelledSet:
    """Up to `sample` queries of `data` (seeded), columns in the router's candidate order."""
    if set(data.candidates) != set(router.candidates):
        raise RouterInputError(f"{data.source}: its models ({', '.join(data.candidates)}) are not this router's candidates "
                               f"({', '.join(router.candidates)}); give a labelled set of the router's own models")
    if sample < 1:
        raise RouterInputError(f"--sample must be at least 1, got {sample}")
    pick = np.sort(np.random.default_rng(seed).permutation(len(data))[:sample])
    return data.subset(pick).models(router.candidates)


def _entry(folder: Path, file: str) -> dict:
    data = (folder / file).read_bytes()
    return {"file": file, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def export_onnx(folder: str | Path, int8: bool = False, data: LabelledSet | str | Path | None = None, sample: int = 2000, seed: int = 0,
                gate: Int8Gate = Int8Gate(), progress=None, encoder_from: str | Path | None = None) -> dict:
    """Export the router in `folder` to ONNX and record it in router.json. Returns the "onnx" section written.

    Args:
        int8: also quantise the encoder, kept only if it passes `gate` on up to `sample` queries of `data`.
        data: a labelled set of the router's candidates, or its file (priced by the router's catalog where needed).
        progress: callable(stage, done, total) during the int8 check.
        encoder_from: an encoder graph exported before (e.g. the previous export of this router's stock encoder):
            used as it is when its scores match torch, so an unchanged encoder is not exported again.
    Raises:
        RouterInputError when int8 fails the gate, after writing the fp32 export and the gate's figures.
    """
    try:
        import onnx
        import onnxruntime
        import onnxscript  # noqa: F401  (torch's exporter imports it; fail here, with the fix, rather than mid-export)
    except ImportError as e:
        raise RouterInputError(f"export-onnx needs {e.name}, which is not installed (pip install -r requirements.txt)") from e

    folder = Path(folder)
    router = Router.load(folder, backend="torch")
    if int8 and data is None:
        raise RouterInputError("--int8 needs --data FILE: labelled queries of this router's models, to check int8 decisions against fp32")
    if isinstance(data, (str, Path)):
        data = load_labelled(data, router.catalog, missing="drop")
    checked = gate_sample(router, data, sample, seed) if int8 else None
    meta = read_meta(folder)
    outcome = {}

    def fill(staging: Path) -> None:
        for item in folder.iterdir():
            if item.is_file() and not item.is_symlink() and item.name not in EXPORT_FILES + (CONFIG_FILE,):
                shutil.copy2(item, staging / item.name)
        difference = None
        if encoder_from is not None:  # an unchanged encoder's graph, kept byte for byte if it still matches torch
            shutil.copy2(encoder_from, staging / ENCODER_FILE)
            _export_head(router, staging / HEAD_FILE)
            try:
                difference = fp32_difference(router, staging)
            except Exception:  # a graph that does not load or run is not this encoder's: export it afresh
                difference = None
        if difference is None or not difference <= TORCH_TOLERANCE:
            export_graphs(router, staging)
            difference = fp32_difference(router, staging)
        if not difference <= TORCH_TOLERANCE:
            raise RuntimeError(f"ONNX fp32 graphs differ from torch by {difference:.2e} (> {TORCH_TOLERANCE}); this is a bug in the export")
        section = {"opset": OPSET, "exported_with": {"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__},
                   "source_weights_sha256": meta["weights_sha256"], "head": _entry(staging, HEAD_FILE),
                   "encoder": {"fp32": _entry(staging, ENCODER_FILE)}, "fp32_max_abs_difference_vs_torch": difference,
                   "int8": False, "int8_gate": None}
        if int8:
            quantise_encoder(staging / ENCODER_FILE, staging / ENCODER_INT8_FILE)
            figures = int8_gate(router, staging, checked, gate, progress)
            section["int8_gate"] = figures
            if figures["accepted"]:
                section["int8"] = True
                section["encoder"]["int8"] = {**_entry(staging, ENCODER_INT8_FILE), "quantisation": "dynamic, per-channel, int8 weights"}
            else:
                (staging / ENCODER_INT8_FILE).unlink()
                outcome["refusal"] = (
                    f"int8 refused, fp32 kept: on {figures['n_queries']} queries of {figures['data']}, hard decisions at "
                    f"{gate.n_lams} λ values agree with fp32 on {figures['decision_agreement']:.2%} of pairs (needs ≥ "
                    f"{gate.min_agreement:.0%}) and AIQ goes {figures['aiq_fp32']:.4f} → {figures['aiq_int8']:.4f} "
                    f"({-figures['aiq_drop']:+.2%}; allowed −{gate.max_aiq_drop:.1%})")
        outcome["section"] = section
        write_meta(staging, {**{k: v for k, v in meta.items() if k != META_DIGEST}, "onnx": section})
        section[ONNX_DIGEST] = read_json(staging)["onnx"][ONNX_DIGEST]

    replace_folder(folder, fill)
    refusal, section = outcome.get("refusal"), outcome["section"]
    if refusal:
        raise RouterInputError(refusal)
    return section
