"""Word-level attention as the user typed it, and the plain-language reason."""
import numpy as np
import pytest

from router_core.dashboard_views.explain import why, word_attention
from router_core.model.tokenizer import load_tokenizer
from router_core.router import RouteDecision


def test_word_pieces_are_merged_into_the_typed_words(tiny_encoder):
    text = "Hello SORTING thanks"  # "sorting" is not in the tiny vocab: it splits into pieces
    ids = tiny_encoder.tokenize([text])["input_ids"][0]
    n = len(ids)
    attention = np.tile(np.array([[0.5, 0.3, 0.2]]), (n, 1))
    attention[1] = [0.9, 0.05, 0.05]
    table = word_attention(load_tokenizer(tiny_encoder.name, tiny_encoder.max_tokens), text, attention, ["a", "b", "c"])
    assert table.index[0] == "[CLS]" and table.index[-1] == "[SEP]"
    assert "SORTING" in table.index and "Hello" in table.index  # spelled as typed
    assert table.loc["Hello", "a"] == pytest.approx(0.9)
    np.testing.assert_allclose(table.sum(axis=1), 1.0)


def decision(chosen, lam, per):
    return RouteDecision("q", lam, "linear", (chosen,), (1.0,), None, per[chosen]["predicted_cost_usd"],
                         per[chosen]["predicted_quality"], per[chosen]["predicted_quality"], per)


def test_why_names_the_trade_off():
    per = {"big": {"predicted_quality": 0.85, "predicted_cost_usd": 0.006, "weight": 0.4, "utility": 0},
           "mid": {"predicted_quality": 0.82, "predicted_cost_usd": 0.001, "weight": 0.4, "utility": 0},
           "tiny": {"predicted_quality": 0.50, "predicted_cost_usd": 0.0001, "weight": 0.2, "utility": 0}}
    text = why(decision("mid", 0.1, per))
    assert text.startswith("At λ=0.10 (quality first), mid wins")
    assert "big's higher predicted quality (0.85 vs 0.82) is not worth its 6.0× cost" in text
    assert "tiny is 10.0× cheaper but predicted 0.32 lower in quality" in text
    at_zero = why(decision("big", 0.0, per))
    assert "big wins: it has the highest predicted quality (0.85); tiny is 60.0× cheaper but predicted 0.35 lower" in at_zero


def test_a_quality_gap_that_rounds_to_zero_is_shown_with_its_digit():
    per = {"big": {"predicted_quality": 0.804, "predicted_cost_usd": 0.006, "weight": 0.5, "utility": 0},
           "tiny": {"predicted_quality": 0.8, "predicted_cost_usd": 0.0015, "weight": 0.5, "utility": 0}}
    text = why(decision("big", 0.3, per))
    assert "tiny is 4.0× cheaper but predicted 0.004 lower in quality" in text and "0.00 lower" not in text


def test_informative_words_drop_special_tokens_and_punctuation_and_keep_the_leaning_words_in_order():
    import pandas as pd

    from router_core.dashboard_views.explain import informative_words

    words = pd.DataFrame([[0.5, 0.5], [0.9, 0.1], [0.5, 0.5], [0.2, 0.8], [0.6, 0.4], [0.5, 0.5], [0.55, 0.45]],
                         index=["[CLS]", "prove", ",", "haiku", "the", "[SEP]", "the (2)"], columns=["big", "small"])
    assert list(informative_words(words, None).index) == ["prove", "haiku", "the", "the (2)"]
    assert list(informative_words(words, 2).index) == ["prove", "haiku"]  # the two that lean hardest, as typed
