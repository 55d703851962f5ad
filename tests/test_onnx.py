"""ONNX export and ONNX Runtime scoring: the same numbers and decisions as torch, recorded and checked like the weights."""
import copy
import json
import shutil
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from router_core.cli import main
from router_core.config import RouterConfig
from router_core.data.labelled import labelled_from_frame
from router_core.errors import RouterInputError
from router_core.onnx_export import (
    ENCODER_FILE,
    ENCODER_INT8_FILE,
    HEAD_FILE,
    Int8Gate,
    export_onnx,
)
from router_core.router import Router

sys.path.insert(0, str(Path(__file__).parent))
from conftest import make_tiny_table  # noqa: E402

LAMS = np.linspace(0.0, 1.0, 21)
# Very different lengths, so graph batches are padded (3 to 14 tokens in the first), and one past max_tokens (32).
MIXED = ["thanks", "hello how are you", "write a python function that sorts list with unit tests step by step",
         "prove theorem step by step " * 12, "summarise this article in one sentence please"]


@pytest.fixture(scope="module")
def tiny_data(tiny_catalog_module):
    return labelled_from_frame(make_tiny_table(40), tiny_catalog_module)


@pytest.fixture(scope="module")
def tiny_catalog_module():
    from conftest import CANDIDATES

    from router_core.data.catalog import Candidate, Catalog

    return Catalog(tuple(Candidate(n, pid, pin, pout, 200) for n, (pid, pin, pout) in CANDIDATES.items()))


@pytest.fixture(scope="module")
def saved_router(tiny_router_folder):
    return tiny_router_folder  # trained on make_tiny_table(40) with the tiny catalog, as tiny_data


@pytest.fixture(scope="module")
def exported(saved_router, tmp_path_factory):
    folder = tmp_path_factory.mktemp("exported") / "router"
    shutil.copytree(saved_router, folder)
    export_onnx(folder)
    return folder


def fresh_copy(folder: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    return copy


def test_fp32_graphs_give_torchs_numbers_on_a_padded_batch(exported):
    torch_router, onnx_router = Router.load(exported, backend="torch"), Router.load(exported, backend="onnx-fp32")
    assert (torch_router.backend, onnx_router.backend) == ("torch", "onnx-fp32")
    expected, got = torch_router.parts.pipeline.raw(MIXED), onnx_router.parts.pipeline.raw(MIXED)
    for want, have in zip(expected, got):
        for field in ("weights", "quality", "cost", "attention", "mean_state"):
            assert getattr(have, field).shape == getattr(want, field).shape, field
            np.testing.assert_allclose(getattr(have, field), getattr(want, field), atol=1e-4, err_msg=field)
    tokens = [len(onnx_router.encoder.word_pieces(q)) for q in MIXED]
    assert [r.attention.shape[0] for r in got] == tokens and max(tokens) == 32  # real tokens only; the long one truncated
    torch_scores, onnx_scores = torch_router.scores(MIXED), onnx_router.scores(MIXED)
    np.testing.assert_allclose(onnx_scores.cost, torch_scores.cost, rtol=1e-4)


def test_fp32_graphs_make_identical_decisions_at_every_slider_step(exported, tiny_data):
    torch_router, onnx_router = Router.load(exported, backend="torch"), Router.load(exported)
    assert onnx_router.backend == "onnx-fp32"  # auto picks the export
    queries = tiny_data.queries + MIXED
    torch_scores, onnx_scores = torch_router.scores(queries), onnx_router.scores(queries)
    for lam in LAMS:
        torch_choice = torch_router.policy().choose(torch_scores.quality, torch_scores.cost, lam, torch_scores.weights)
        onnx_choice = onnx_router.policy().choose(onnx_scores.quality, onnx_scores.cost, lam, onnx_scores.weights)
        assert (torch_choice == onnx_choice).all(), lam
    assert (torch_router.sweep(torch_scores, LAMS).choices == onnx_router.sweep(onnx_scores, LAMS).choices).all()
    soft = [d.candidates for d in onnx_router.route(queries[:6], 0.3, k=2)]
    assert soft == [d.candidates for d in torch_router.route(queries[:6], 0.3, k=2)]


def test_bulk_scoring_on_parallel_sessions_gives_the_numbers_of_one_query_at_a_time(exported, tiny_data):
    scorer = Router.load(exported, backend="onnx-fp32", threads=2).parts.pipeline.scorer()
    texts = tiny_data.queries + MIXED  # 45 texts: 12 graph batches, enough for the parallel sessions
    calls = []
    bulk = scorer.score(texts, progress=lambda done, total: calls.append((done, total, threading.current_thread())))
    assert scorer._bulk_sessions is not None and scorer._bulk_sessions.qsize() == 2
    for text, have in zip(texts, bulk):
        (want,) = scorer.score([text])
        for field in ("weights", "quality", "cost", "attention", "mean_state"):
            np.testing.assert_allclose(getattr(have, field), getattr(want, field), atol=1e-5, err_msg=f"{field}: {text}")
    assert calls[-1][:2] == (45, 45)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    assert all(c[2] is threading.current_thread() for c in calls)  # a dashboard bar may only be drawn from its own thread
    single = Router.load(exported, backend="onnx-fp32", threads=1).parts.pipeline.scorer()
    single.score(texts)
    assert single._bulk_sessions is None


def test_policy_choices_are_decide_without_the_records(exported, tiny_data):
    router = Router.load(exported)
    scores = router.scores(tiny_data.queries)
    for policy in ("linear", "paper", "exponential"):
        swept = router.sweep(scores, [0.0, 0.35, 1.0], policy)
        for lam, from_sweep in zip((0.0, 0.35, 1.0), swept.choices):
            choice = router.policy(policy).choose(scores.quality, scores.cost, lam, scores.weights)
            names = np.array(scores.candidates)[choice]
            assert names.tolist() == [d.candidate for d in router.decide(scores, lam, policy=policy)]
            assert (from_sweep == choice).all()


def test_the_export_is_recorded_in_router_json_with_digests(exported, saved_router):
    import hashlib

    meta = json.loads((exported / "router.json").read_text())
    original = json.loads((saved_router / "router.json").read_text())
    section = meta.pop("onnx")
    assert meta == original  # everything else, weights digest included, is as training wrote it
    for name in ("router.safetensors", "quality.safetensors"):
        assert (exported / name).read_bytes() == (saved_router / name).read_bytes(), name
    assert section["opset"] == 18 and section["int8"] is False and section["int8_gate"] is None
    assert section["source_weights_sha256"] == original["weights_sha256"]
    assert section["fp32_max_abs_difference_vs_torch"] < 1e-4
    for entry in (section["head"], section["encoder"]["fp32"]):
        data = (exported / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"]
    assert sorted(p.name for p in exported.iterdir()) == sorted([ENCODER_FILE, HEAD_FILE, "router.json", "router.safetensors",
                                                                 "quality.safetensors"])
    assert sorted(p.name for p in exported.parent.iterdir()) == ["router"]  # no staging folder left behind


def test_a_damaged_or_stale_graph_is_refused(exported, saved_router, tmp_path):
    folder = fresh_copy(exported, tmp_path)
    head = bytearray((folder / HEAD_FILE).read_bytes())
    head[len(head) // 2] ^= 0xFF
    (folder / HEAD_FILE).write_bytes(bytes(head))
    with pytest.raises(RouterInputError, match=f"{HEAD_FILE}: digest does not match router.json"):
        Router.load(folder)
    assert Router.load(folder, backend="torch").backend == "torch"  # the weights themselves are fine

    # Graphs exported from other weights, copied beside this router's weights, are stale even with matching digests.
    stale = fresh_copy(saved_router, tmp_path / "stale")
    router = Router.load(stale, backend="torch")
    net = copy.deepcopy(router.parts.pipeline.net)
    net.candidate_bias.data += 1.0
    router.with_parts(pipeline=router.parts.pipeline.replaced(net=net)).save(stale)
    meta = json.loads((stale / "router.json").read_text())
    meta["onnx"] = json.loads((exported / "router.json").read_text())["onnx"]
    (stale / "router.json").write_text(json.dumps(meta))
    for name in (ENCODER_FILE, HEAD_FILE):
        shutil.copy(exported / name, stale / name)
    with pytest.raises(RouterInputError, match="made from other weights"):
        Router.load(stale)


def test_backend_choice(exported, saved_router):
    assert Router.load(saved_router).backend == "torch"  # no export: auto falls back
    with pytest.raises(RouterInputError, match="has no ONNX export"):
        Router.load(saved_router, backend="onnx")
    with pytest.raises(RouterInputError, match="no accepted int8 encoder"):
        Router.load(exported, backend="onnx-int8")
    with pytest.raises(RouterInputError, match="backend 'gpu'"):
        Router.load(exported, backend="gpu")
    assert Router.load(exported, backend="onnx").backend == "onnx-fp32"


def test_a_recorded_graph_missing_from_the_folder(exported, tmp_path):
    folder = fresh_copy(exported, tmp_path)
    (folder / ENCODER_FILE).unlink()
    assert Router.load(folder).backend == "torch"  # auto passes over it
    with pytest.raises(RouterInputError, match=f"{ENCODER_FILE} is recorded in router.json but not in the folder"):
        Router.load(folder, backend="onnx-fp32")


def test_saving_again_drops_the_export_and_new_weights_score_with_torch(exported, tmp_path, tiny_data):
    from router_core.data.catalog import Candidate, Catalog

    router = Router.load(exported)
    newbie = Candidate("newbie", "x/newbie", 0.1, 0.2, 150)
    rows = labelled_from_frame(make_tiny_table(10).query("model == 'budget'").assign(model="newbie"), Catalog((newbie,)))
    extended = router.with_candidate(rows, newbie, epochs=5)
    assert router.backend == "onnx-fp32" and extended.backend == "torch"  # the export describes the old weights only
    assert extended.scores(tiny_data.queries[:3]).quality.shape == (3, 4)
    router.save(tmp_path / "resaved")
    assert "onnx" not in json.loads((tmp_path / "resaved" / "router.json").read_text())
    assert Router.load(tmp_path / "resaved").backend == "torch"


def test_an_extended_router_scores_through_onnx_with_a_new_head_and_the_old_encoder_graph(exported, tiny_data):
    from router_core.data.catalog import Candidate, Catalog
    from router_core.onnx_export import with_onnx_head

    router = Router.load(exported)
    newbie = Candidate("newbie", "x/newbie", 0.1, 0.2, 150)
    rows = labelled_from_frame(make_tiny_table(10).query("model == 'budget'").assign(model="newbie"), Catalog((newbie,)))
    extended = router.with_candidate(rows, newbie, epochs=5)
    fast = with_onnx_head(extended, router)
    assert fast.backend == "onnx-fp32" and fast.candidates == extended.candidates
    np.testing.assert_allclose(fast.scores(MIXED).quality, extended.scores(MIXED).quality, atol=1e-5)


def test_an_encoder_graph_exported_before_is_kept_byte_for_byte_and_a_wrong_one_exported_afresh(exported, saved_router, tmp_path):
    again = fresh_copy(saved_router, tmp_path)
    export_onnx(again, encoder_from=exported / "encoder.onnx")
    assert (again / "encoder.onnx").read_bytes() == (exported / "encoder.onnx").read_bytes()
    garbage = tmp_path / "not_an_encoder.onnx"
    garbage.write_bytes(b"not a graph")
    other = tmp_path / "other"
    shutil.copytree(saved_router, other)
    export_onnx(other, encoder_from=garbage)
    assert (other / "encoder.onnx").read_bytes() != b"not a graph"
    np.testing.assert_allclose(Router.load(other).scores(MIXED).quality, Router.load(exported).scores(MIXED).quality, atol=1e-5)


def test_fine_tuned_encoder_layers_are_in_the_exported_graph(tiny_bert_path, tiny_data, tiny_catalog_module, tmp_path):
    from router_core.model.encoder import Encoder

    config = RouterConfig.of(encoder=str(tiny_bert_path), max_tokens=32, epochs=3, finetune_layers=1, finetune_min_queries=0, learning_rate=1e-2)
    tuned = Router(config).fit(tiny_data, tiny_catalog_module, show_bar=False)
    folder = tuned.save(tmp_path / "tuned")
    export_onnx(folder)
    onnx_router, torch_router = Router.load(folder, backend="onnx-fp32"), Router.load(folder, backend="torch")
    got, want = onnx_router.parts.pipeline.raw(MIXED), torch_router.parts.pipeline.raw(MIXED)
    assert onnx_router.encoder._model is None  # the graph holds the tuned layers: torch weights are never read
    lazy = onnx_router.encoder.token_states(MIXED)  # read on demand (baselines' features): tuned weights, too
    for state, expected in zip(lazy, want):
        np.testing.assert_allclose(state.mean(axis=0), expected.mean_state, atol=1e-5)
    for have, expected in zip(got, want):
        np.testing.assert_allclose(have.mean_state, expected.mean_state, atol=1e-4)
        np.testing.assert_allclose(have.quality, expected.quality, atol=1e-4)
    stock = Encoder.load(str(tiny_bert_path), max_tokens=32).token_states(MIXED)
    assert max(np.abs(s.mean(axis=0) - r.mean_state).max() for s, r in zip(stock, got)) > 1e-3  # tuned, not stock, weights


def test_int8_is_kept_only_when_it_passes_the_gate(exported, tiny_data, tmp_path):
    folder = fresh_copy(exported, tmp_path)
    try:
        export_onnx(folder, int8=True, data=tiny_data)
        refused = None
    except RouterInputError as e:
        refused = str(e)
    section = json.loads((folder / "router.json").read_text())["onnx"]
    gate = section["int8_gate"]
    assert gate["n_queries"] == len(tiny_data) and gate["n_lams"] == 21
    assert 0.0 <= gate["decision_agreement"] <= 1.0 and gate["aiq_fp32"] > 0
    assert gate["accepted"] == (gate["decision_agreement"] >= 0.99 and gate["aiq_drop"] <= 0.005)
    assert section["int8"] == gate["accepted"] == (refused is None) == (folder / ENCODER_INT8_FILE).exists()
    assert Router.load(folder).backend == ("onnx-int8" if gate["accepted"] else "onnx-fp32")


def test_a_refused_int8_keeps_fp32_and_says_why(exported, tiny_data, tmp_path):
    folder = fresh_copy(exported, tmp_path)
    with pytest.raises(RouterInputError, match=r"int8 refused, fp32 kept: on 40 queries .* agree with fp32 on .* \(needs ≥ 101%\)"):
        export_onnx(folder, int8=True, data=tiny_data, gate=Int8Gate(min_agreement=1.01))
    section = json.loads((folder / "router.json").read_text())["onnx"]
    assert section["int8"] is False and section["int8_gate"]["accepted"] is False
    assert "int8" not in section["encoder"] and not (folder / ENCODER_INT8_FILE).exists()
    assert Router.load(folder).backend == "onnx-fp32"


def test_bad_gate_data_leaves_the_artifact_untouched(exported, tmp_path):
    folder = fresh_copy(exported, tmp_path)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    other = labelled_from_frame(make_tiny_table(12).replace({"model": {"premium": "other"}}))
    with pytest.raises(RouterInputError, match="are not this router's candidates"):
        export_onnx(folder, int8=True, data=other)
    with pytest.raises(RouterInputError, match="--int8 needs --data"):
        export_onnx(folder, int8=True)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in folder.parent.iterdir()) == ["copy"]


def test_cli_export_prints_the_record_and_errors_are_one_line(saved_router, tmp_path, capsys):
    folder = fresh_copy(saved_router, tmp_path)
    assert main(["export-onnx", "--router", str(folder)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["int8"] is False and set(printed["files"]) == {ENCODER_FILE, HEAD_FILE}
    assert main(["export-onnx", "--router", str(folder), "--int8"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: --int8 needs --data FILE: labelled queries of this router's models, to check int8 decisions against fp32"]
    assert main(["route", "--router", str(folder), "--backend", "onnx-int8", "--lam", "0.5", "hello"]) == 2
    assert "no accepted int8 encoder" in capsys.readouterr().err


@pytest.mark.integration
def test_the_bundled_router_on_onnx_fp32_decides_as_torch_on_the_whole_sample_set(real_encoder, tmp_path):
    from router_core.data.labelled import load_labelled

    root = Path(__file__).resolve().parent.parent
    folder = tmp_path / "router"
    shutil.copytree(root / "sample_data" / "router", folder)
    export_onnx(folder)  # fp32 graphs of the router as committed, whatever its committed export holds
    torch_router = Router.load(folder, encoder=real_encoder, backend="torch")
    onnx_router = Router.load(folder, backend="onnx-fp32")
    data = load_labelled(root / "sample_data" / "labelled.csv", torch_router.catalog)
    torch_scores, onnx_scores = torch_router.scores(data.queries), onnx_router.scores(data.queries)
    np.testing.assert_allclose(onnx_scores.weights, torch_scores.weights, atol=1e-4)
    raw_torch, raw_onnx = torch_router.parts.pipeline.raw(data.queries[:50]), onnx_router.parts.pipeline.raw(data.queries[:50])
    for want, have in zip(raw_torch, raw_onnx):
        np.testing.assert_allclose(have.cost, want.cost, atol=1e-4)
        np.testing.assert_allclose(have.attention, want.attention, atol=1e-4)
        np.testing.assert_allclose(have.mean_state, want.mean_state, atol=1e-4)
    # The quality stage's neighbour evidence averages the k nearest training queries. The two encoders' embeddings differ by
    # ~1e-6, which on some CPUs swaps the k-th neighbour of a query whose k-th and (k+1)-th are that close (seen on
    # 3 of 3,000 sample queries on an AMD EPYC, none on an Intel machine): such a query moves by at most one
    # neighbour's share of the label range. Every other query agrees to 1e-4, and so do the decisions.
    stage = torch_router.parts.pipeline.quality
    one_neighbour = stage.neighbour_weight / stage.neighbours.n_neighbours + 1e-4
    gap = np.abs(onnx_scores.quality - torch_scores.quality).max(axis=1)  # (Q,)
    assert gap.max() <= one_neighbour and (gap > 1e-4).mean() <= 0.002, (gap.max(), int((gap > 1e-4).sum()))
    torch_choices, onnx_choices = torch_router.sweep(torch_scores, LAMS).choices, onnx_router.sweep(onnx_scores, LAMS).choices
    for lam, torch_choice, onnx_choice in zip(LAMS, torch_choices, onnx_choices):
        differ = torch_choice != onnx_choice
        assert not (differ & (gap <= 1e-4)).any(), lam  # only a query whose neighbours swapped may decide otherwise


@pytest.mark.integration
def test_the_committed_export_of_the_bundled_router_loads_and_is_what_auto_picks():
    root = Path(__file__).resolve().parent.parent
    meta = json.loads((root / "sample_data" / "router" / "router.json").read_text())
    section = meta["onnx"]
    expected = "onnx-int8" if section["int8"] else "onnx-fp32"
    router = Router.load(root / "sample_data" / "router")  # checks every digest it uses
    assert router.backend == expected
    assert section["source_weights_sha256"] == meta["weights_sha256"]
    # Shipped in fp32: the int8 encoder (which passes its gate on this router) quantises activations per batch, so a
    # query's scores would depend on the queries scored beside it, and the Ray and local engines would disagree.
    assert section["int8"] is False and router.backend == "onnx-fp32"
