"""Loading a router artifact trusts nothing in it: router.json is sealed and checked, files stay inside the folder,
replacing an artifact never loses it, and huge prompts are cut before tokenising."""
import errno
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router_core import files as safe_files
from router_core.artifact import store as artifact
from router_core.artifact.schema import META_DIGEST, seal
from router_core.errors import RouterInputError
from router_core.model.encoder import Encoder
from router_core.model.text import CHARS_PER_TOKEN_CAP
from router_core.router import Router

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
from conftest import make_tiny_table  # noqa: E402
from reliability_artifacts import trace  # noqa: E402

QUERIES = ["hello how are you", "write a python function that sorts list with unit tests", "prove theorem step by step",
           "translate into french please", "detailed essay about history of rome"]
LAMS = (0.0, 0.4, 1.0)


def decisions(router):
    scores = router.scores(QUERIES)
    return [[d.candidate for d in router.decide(scores, lam)] for lam in LAMS]


@pytest.fixture(scope="module")
def saved(tiny_router_folder, tmp_path_factory):
    folder = shutil.copytree(tiny_router_folder, tmp_path_factory.mktemp("safety") / "router")
    return folder, decisions(Router.load(folder))


def copy_of(folder: Path, tmp: Path) -> Path:
    dest = tmp / "copy" / "router"
    shutil.copytree(folder, dest)
    return dest


def edit_meta(folder: Path, change, reseal: bool) -> bool:
    """Apply `change` to router.json (re-sealed or not); whether the content changed at all."""
    before = json.loads((folder / "router.json").read_text())
    meta = json.loads((folder / "router.json").read_text())
    change(meta)
    if reseal:
        meta = seal({k: v for k, v in meta.items() if k != META_DIGEST})
    (folder / "router.json").write_text(json.dumps(meta))
    return meta != before


def test_a_hand_edited_router_json_is_refused_with_the_way_out(saved, tmp_path):
    folder = copy_of(saved[0], tmp_path)

    def swap(meta):
        entries = meta["pricing"]["catalog"]["candidates"]
        entries[0], entries[2] = entries[2], entries[0]

    edit_meta(folder, swap, reseal=False)
    with pytest.raises(RouterInputError, match=r"router.json: changed since it was written .*--catalog"):
        Router.load(folder)


@pytest.mark.parametrize("path, value, message", [
    ("pricing.cost_mode", "weird", "pricing.cost_mode must be one of tokens, usd"),
    ("cost_scale.weight", math.nan, "cost_scale.weight must be a finite number"),
    ("cost_scale.log_min", math.inf, "cost_scale.log_min must be a finite number"),
    ("pricing.catalog.candidates.0.output_usd_per_1m", True, r"candidates\[0\].output_usd_per_1m must be a finite number"),
    ("pricing.catalog.candidates.1.name", None, r"candidates\[1\].name must be a non-empty string"),
    ("quality.neighbour_weight", 0.99, "weights summing to at most 1"),
    ("config.model.max_tokens", 100000, "max_tokens=100000 is more than encoder"),
    ("config.model.encoder", "/etc", "records no fingerprint|not a folder with config.json"),
    ("encoder_sha256", "0" * 64, "has changed since the router was trained"),
    ("weights_bytes", 10, "more than the 10 expected"),
])
def test_invalid_values_are_refused_even_when_resealed(saved, tmp_path, path, value, message):
    folder = copy_of(saved[0], tmp_path)

    def change(meta):
        if path == "quality.neighbour_weight":  # whatever the trained mix, the other weights make the sum pass 1
            meta["quality"]["network_weight"] = 0.5
        *parents, last = path.split(".")
        node = meta
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[last] = value

    edit_meta(folder, change, reseal=True)
    with pytest.raises(RouterInputError, match=message):
        Router.load(folder)


def test_a_renamed_catalog_entry_cannot_misprice_silently(saved, tmp_path):
    folder = copy_of(saved[0], tmp_path)
    edit_meta(folder, lambda meta: meta["pricing"]["catalog"]["candidates"][0].update(name="budget-2"), reseal=True)
    with pytest.raises(RouterInputError, match="must equal the candidates in order"):
        Router.load(folder)


@pytest.mark.parametrize("text", ["[1, 2]", "[" * 100000 + "]" * 100000, "", "null"])
def test_malformed_router_json_is_one_clear_error(saved, tmp_path, text):
    folder = copy_of(saved[0], tmp_path)
    (folder / "router.json").write_text(text)
    with pytest.raises(RouterInputError, match="router.json: (expected a JSON object|nested too deeply|not valid JSON)"):
        Router.load(folder)


def test_symlinks_and_devices_are_refused_before_a_byte_is_read(saved, tmp_path):
    folder = copy_of(saved[0], tmp_path)
    (folder / "router.safetensors").unlink()
    os.symlink("/dev/zero", folder / "router.safetensors")
    with trace().watch(folder, tmp_path) as watched:
        with pytest.raises(RouterInputError, match="router.safetensors: is a symbolic link"):
            Router.load(folder)
    assert "/dev/zero" not in watched.outside
    (folder / "router.safetensors").unlink()
    (folder / "router.safetensors").mkdir()
    with pytest.raises(RouterInputError, match="router.safetensors: is not a regular file"):
        Router.load(folder)


def test_onnx_entries_must_be_plain_names_in_the_folder(saved, tmp_path):
    folder = copy_of(saved[0], tmp_path)
    entry = {"file": "../../../x.onnx", "sha256": "0" * 64, "bytes": 10}
    section = {"head": entry, "encoder": {"fp32": {**entry, "file": "enc.onnx"}}, "source_weights_sha256": None, "int8": False}
    edit_meta(folder, lambda meta: meta.update(onnx={**section, "source_weights_sha256": meta["weights_sha256"]}), reseal=True)
    with pytest.raises(RouterInputError, match=r"onnx.head.file: file entry '../../../x.onnx' must be a plain file name"):
        Router.load(folder)


def test_loading_opens_no_file_outside_the_folder_but_the_recorded_encoder(saved, tiny_bert_path):
    folder, expected = saved
    with trace().watch(folder, tiny_bert_path) as watched:
        router = Router.load(folder)
    assert watched.outside == []
    assert decisions(router) == expected


def test_training_refuses_more_tokens_than_the_encoder_has_positions(tiny_bert_path, tmp_path):
    from router_core.cli import main

    with pytest.raises(RouterInputError, match="max_tokens=100000 is more than encoder .* can take \\(64 tokens\\)"):
        Encoder.load(str(tiny_bert_path), max_tokens=100000)
    make_tiny_table(8).to_csv(tmp_path / "labels.csv", index=False)
    assert main(["train", "--data", str(tmp_path / "labels.csv"), "--out", str(tmp_path / "r"), "--max-tokens", "100000",
                 "--encoder", str(tiny_bert_path)]) == 2
    assert not (tmp_path / "r").exists()


def test_a_folder_stranded_between_two_renames_is_put_back_and_leftovers_go(saved, tmp_path):
    folder = copy_of(saved[0], tmp_path)
    dead = 4194303  # above any pid this machine hands out
    os.replace(folder, folder.with_name(f".router.old-{dead}"))
    (folder.parent / f".router.stage-{dead}-abc").mkdir()
    assert decisions(Router.load(folder)) == saved[1]
    assert sorted(p.name for p in folder.parent.iterdir()) == ["router"]


def test_saving_without_an_atomic_exchange_still_replaces_whole(saved, tmp_path, monkeypatch):
    folder = copy_of(saved[0], tmp_path)
    monkeypatch.setattr(safe_files, "_exchange", lambda a, b: False)
    Router.load(folder).save(folder)
    assert decisions(Router.load(folder)) == saved[1]
    assert sorted(p.name for p in folder.parent.iterdir()) == ["router"]


def test_a_full_disk_is_one_error_and_the_old_artifact_stays(saved, tmp_path, monkeypatch):
    folder = copy_of(saved[0], tmp_path)
    router = Router.load(folder)
    before = (folder / "router.json").read_bytes()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(artifact, "save_arrays", full)
    with pytest.raises(RouterInputError, match=r"could not save the artifact \(the disk is full\); the existing one"):
        router.save(folder)
    assert (folder / "router.json").read_bytes() == before
    assert sorted(p.name for p in folder.parent.iterdir()) == ["router"]
    assert decisions(Router.load(folder)) == saved[1]


def test_upgrade_seals_an_older_router_json_with_the_same_decisions(saved, tmp_path):
    from router_core.artifact.upgrade import upgrade

    folder = copy_of(saved[0], tmp_path)
    meta = json.loads((folder / "router.json").read_text())
    for key in (META_DIGEST, "weights_bytes", "encoder_sha256"):
        meta.pop(key)
    meta["quality"].pop("bytes")
    (folder / "router.json").write_text(json.dumps(meta))
    with pytest.raises(RouterInputError, match="records no digest of its own content.*upgrade --router"):
        Router.load(folder)
    assert upgrade(folder) is True and upgrade(folder) is False
    assert decisions(Router.load(folder)) == saved[1]


def test_non_finite_predictions_are_refused(saved):
    import copy

    import torch

    router = Router.load(saved[0])
    net = copy.deepcopy(router.parts.pipeline.net)
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(float("nan"))
    broken = router.with_parts(pipeline=router.parts.pipeline.replaced(net=net))
    with pytest.raises(RouterInputError, match="non-finite score .* train it again"):
        broken.route(["hello"], 0.5)


def test_the_prompt_cap_changes_nothing_for_prompts_that_fit_and_bounds_huge_ones(tiny_encoder, saved):
    long_normal = "write a python function that sorts list with unit tests " * 40  # > max_tokens, < the cap
    assert len(long_normal) < CHARS_PER_TOKEN_CAP * tiny_encoder.max_tokens
    uncapped = tiny_encoder.tokenizer([long_normal], truncation=True, max_length=tiny_encoder.max_tokens)["input_ids"]
    assert tiny_encoder.tokenize([long_normal])["input_ids"].tolist() == uncapped
    router = Router.load(saved[0], encoder=tiny_encoder)
    huge = "prove theorem step by step " * 800_000  # ~21 MB
    start = time.perf_counter()
    big = router.scores([huge])
    assert time.perf_counter() - start < 10
    head = router.scores([huge[: CHARS_PER_TOKEN_CAP * 32]])
    np.testing.assert_allclose(big.quality, head.quality, atol=1e-6)


# ---------------------------------------------------------------- property: any mutation of router.json

VALUES = st.one_of(st.sampled_from([math.nan, math.inf, -math.inf, -1, 0, 1e308, -1e308, "x", "", None, [], {}, True, False,
                                    "../../../etc/passwd", "/dev/zero", "/etc"]),
                   st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
                   st.recursive(st.none(), lambda inner: st.lists(inner, max_size=2), max_leaves=4))


def leaf_paths(value, prefix=()):
    if isinstance(value, dict):
        yield prefix
        for key, item in value.items():
            if key != "history":
                yield from leaf_paths(item, prefix + (key,))
    elif isinstance(value, list):
        yield prefix
        for i, item in enumerate(value[:4]):
            yield from leaf_paths(item, prefix + (i,))
    else:
        yield prefix


@pytest.fixture(scope="module")
def meta_paths(saved):
    meta = json.loads((saved[0] / "router.json").read_text())
    return [p for p in leaf_paths(meta) if p and p != (META_DIGEST,)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_mutation_of_router_json_is_refused_or_routes_the_same(saved, meta_paths, tiny_bert_path, data):
    folder, expected = saved
    path = data.draw(st.sampled_from(meta_paths), label="path")
    action = data.draw(st.sampled_from(["set", "drop", "swap"]), label="action")
    value = data.draw(VALUES, label="value")
    reseal = data.draw(st.booleans(), label="reseal")
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "router"
        shutil.copytree(folder, copy)

        def change(meta):
            *parents, last = path
            node = meta
            for key in parents:
                node = node[key]
            if action == "drop" and isinstance(node, dict):
                del node[last]
            elif action == "swap" and isinstance(node, list) and len(node) > 1:
                node[0], node[-1] = node[-1], node[0]
            else:
                node[last] = value

        changed = edit_meta(copy, change, reseal)
        with trace().watch(copy, tiny_bert_path) as watched:
            try:
                outcome = decisions(Router.load(copy))
            except RouterInputError:
                outcome = None
        assert watched.outside == []
        # A re-sealed change to a valid value is a router its writer chose; every other change must be refused.
        if outcome is not None and not reseal and changed:
            pytest.fail(f"a hand edit of {path} loaded")
        if outcome is not None and outcome != expected:
            valid_choice = path[0] in ("pricing", "cost_scale", "quality", "config", "training")
            assert valid_choice, f"{path} = {value!r} changed decisions"


def test_the_open_trace_sees_a_file_outside_the_watched_folders(tmp_path):
    (tmp_path / "inside.txt").write_text("x")
    with trace().watch(tmp_path / "sub") as watched:
        (tmp_path / "inside.txt").read_text()
    assert watched.outside == [str((tmp_path / "inside.txt").resolve())]
