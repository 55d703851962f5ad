"""The on-disk score cache: exact float32 round trips, no re-encoding across router objects, kept apart per backend;
a locked, damaged or unwritable cache is set aside with one warning and routing gives the same results without it."""
import sqlite3
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from reliability_cache import concurrent_cache_opens

from router_core.model.encoder import Encoder
from router_core.model.score_cache import (
    ScoreCache,
    ScoreCacheWarning,
    default_cache_dir,
)
from router_core.model.scores import RawScore
from router_core.router import Router

sys.path.insert(0, str(Path(__file__).parent))

QUERIES = ["prove theorem step by step", "hello how are you", "write a python function that sorts list", "thanks"]


@pytest.fixture(scope="module")
def folder(tiny_router_folder):
    return tiny_router_folder


def counting_encoder(tiny_bert_path):
    """A fresh tiny encoder (empty token cache) that records every text it encodes."""
    encoder = Encoder.load(str(tiny_bert_path), max_tokens=32)
    encoder.encoded = []
    original = encoder.token_states
    encoder.token_states = lambda texts, *a, **k: encoder.encoded.extend(texts) or original(texts, *a, **k)
    return encoder


def test_raw_scores_round_trip_exactly(tmp_path):
    rng = np.random.default_rng(0)
    score = RawScore(*(rng.random(shape, dtype=np.float32) for shape in ((3,), (3,), (3,), (7, 3), (16,))))
    cache = ScoreCache(tmp_path / "scores.sqlite")
    cache.put_many("router-a/torch", {"k1": score})
    back = cache.get_many("router-a/torch", ["k1", "k2"])
    assert list(back) == ["k1"]
    for want, got in zip(score, back["k1"]):
        assert got.dtype == np.float32 and got.shape == want.shape and np.array_equal(got, want)
    assert cache.get_many("router-b/torch", ["k1"]) == {}  # another router's entries are not this one's


def test_a_reopened_router_reads_scores_instead_of_encoding(folder, tiny_bert_path, tmp_path):
    first = Router.load(folder, encoder=counting_encoder(tiny_bert_path), cache_dir=tmp_path)
    before = first.scores(QUERIES + QUERIES[:2])
    assert sorted(first.encoder.encoded) == sorted(QUERIES)  # each distinct text once
    again = Router.load(folder, encoder=counting_encoder(tiny_bert_path), cache_dir=tmp_path)
    after = again.scores(QUERIES + ["something new please"])
    assert again.encoder.encoded == ["something new please"]
    np.testing.assert_array_equal(after.quality[:4], before.quality[:4])
    np.testing.assert_array_equal(after.weights[:4], before.weights[:4])
    assert [a.shape for a in after.attention[:4]] == [a.shape for a in before.attention[:4]]
    assert len(ScoreCache(tmp_path / "scores.sqlite")) == 5


def test_backends_keep_their_own_entries(folder, tiny_bert_path, tmp_path):
    import shutil

    from router_core.onnx_export import export_onnx

    exported = tmp_path / "exported"
    shutil.copytree(folder, exported)
    export_onnx(exported)
    torch_router = Router.load(exported, backend="torch", cache_dir=tmp_path / "cache")
    onnx_router = Router.load(exported, backend="onnx-fp32", cache_dir=tmp_path / "cache")
    assert torch_router.id == onnx_router.id and torch_router.parts.pipeline.scorer_id != onnx_router.parts.pipeline.scorer_id
    torch_router.scores(QUERIES)
    onnx_router.scores(QUERIES)
    assert len(ScoreCache(tmp_path / "cache" / "scores.sqlite")) == 2 * len(QUERIES)


def test_the_cache_stays_bounded_and_keeps_the_newest(tmp_path):
    cache = ScoreCache(tmp_path / "scores.sqlite", max_entries=10)
    score = RawScore(*(np.ones(shape, np.float32) for shape in ((2,), (2,), (2,), (1, 2), (4,))))
    for i in range(25):
        cache.put_many("r/torch", {f"k{i}": score})
    assert len(cache) <= 10
    assert "k24" in cache.get_many("r/torch", ["k24"]) and cache.get_many("r/torch", ["k0"]) == {}


def small_score(value: float = 0.5) -> RawScore:
    return RawScore(*(np.full(shape, value, np.float32) for shape in ((2,), (2,), (2,), (1, 2), (4,))))


def test_a_damaged_file_is_set_aside_with_one_warning_and_the_advice_to_delete_it(tmp_path):
    (tmp_path / "scores.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.warns(ScoreCacheWarning, match=r"scores.sqlite: the file is damaged .*delete it") as caught:
        cache = ScoreCache(tmp_path / "scores.sqlite")
        cache.put_many("r/torch", {"k": small_score()})
        assert cache.get_many("r/torch", ["k"]) == {} and len(cache) == 0
    assert len(caught) == 1 and not cache.enabled
    assert (tmp_path / "scores.sqlite").read_bytes() == b"this is not a database" * 100  # the user's file is left as it was


def test_routing_with_a_damaged_cache_warns_and_gives_the_same_decisions(folder, tmp_path):
    expected = Router.load(folder).route(QUERIES, 0.3)
    (tmp_path / "scores.sqlite").write_bytes(bytes(range(256)) * 64)
    with pytest.warns(ScoreCacheWarning, match="scoring without the score cache"):
        router = Router.load(folder, cache_dir=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one warning only: none while routing
        decisions = router.route(QUERIES, 0.3)
    assert [d.candidate for d in decisions] == [d.candidate for d in expected]
    assert [d.predicted_cost_usd for d in decisions] == pytest.approx([d.predicted_cost_usd for d in expected])


def test_a_lock_held_by_another_process_is_reported_as_a_lock_and_routing_goes_on(folder, tmp_path):
    expected = Router.load(folder).route(QUERIES, 0.6)
    ScoreCache(tmp_path / "scores.sqlite").close()
    holder = sqlite3.connect(tmp_path / "scores.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process in the middle of a long write
    try:
        with pytest.warns(ScoreCacheWarning, match="another process kept the score cache locked") as caught:
            cache = ScoreCache(tmp_path / "scores.sqlite", timeout=0.05)
            router = Router.load(folder)
            router.parts.pipeline._disk = cache
            decisions = router.route(QUERIES, 0.6)
        assert len(caught) == 1 and "delete" not in str(caught[0].message)  # a lock is no reason to delete anything
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert [d.candidate for d in decisions] == [d.candidate for d in expected]


def test_a_lock_taken_after_opening_sets_the_cache_aside_at_the_next_write(tmp_path):
    cache = ScoreCache(tmp_path / "scores.sqlite", timeout=0.05)
    cache.put_many("r/torch", {"a": small_score(0.1)})
    holder = sqlite3.connect(tmp_path / "scores.sqlite", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.warns(ScoreCacheWarning, match="locked"):
            cache.put_many("r/torch", {"b": small_score(0.2)})  # gives up after the timeout instead of raising
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not cache.enabled and cache.get_many("r/torch", ["a", "b"]) == {}
    assert set(ScoreCache(tmp_path / "scores.sqlite").get_many("r/torch", ["a", "b"])) == {"a"}


def test_an_unwritable_cache_folder_is_set_aside(tmp_path):
    (tmp_path / "file").write_text("a file where the cache folder should be")
    with pytest.warns(ScoreCacheWarning, match="cannot create its folder"):
        cache = ScoreCache(tmp_path / "file" / "scores.sqlite")
    assert not cache.enabled and cache.get_many("r/torch", ["k"]) == {}


def test_six_processes_opening_a_fresh_cache_at_once_never_hit_the_lock():
    result = concurrent_cache_opens(processes=6, rounds=4)
    assert result == {"opens": 24, "lock_errors": 0, "fallbacks": 0, "crashes": 0, "unreadable": 0}


def test_an_old_cache_layout_is_rebuilt(tmp_path):
    with sqlite3.connect(tmp_path / "scores.sqlite") as db:
        db.execute("CREATE TABLE scores (anything TEXT)")
        db.execute("PRAGMA user_version=0")
    cache = ScoreCache(tmp_path / "scores.sqlite")
    assert len(cache) == 0
    cache.put_many("r/torch", {"k": RawScore(*(np.zeros(s, np.float32) for s in ((2,), (2,), (2,), (1, 2), (4,))))})
    assert len(cache) == 1


def test_default_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CROSSROUTE_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("CROSSROUTE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "crossroute"
