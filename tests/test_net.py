"""RouterNet shapes, the attention distribution and padding masking."""
import torch

from router_core.model.net import RouterNet


def make_batch():
    torch.manual_seed(0)
    states = torch.randn(3, 5, 16)  # (B, L, d)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.bool)
    return states, mask


def test_shapes_and_distributions():
    net = RouterNet(token_dim=16, n_candidates=4, attention_dim=8, hidden_dim=8).eval()
    states, mask = make_batch()
    out = net(states, mask)
    assert out["attention"].shape == (3, 5, 4)
    assert out["weights"].shape == out["quality"].shape == out["cost"].shape == (3, 4)
    torch.testing.assert_close(out["weights"].sum(dim=1), torch.ones(3))  # a distribution over candidates
    torch.testing.assert_close(out["attention"][1, :3].sum(dim=1), torch.ones(3))  # each real token sums to 1
    assert (out["quality"] > 0).all() and (out["quality"] < 1).all()


def test_padding_is_masked_out():
    net = RouterNet(token_dim=16, n_candidates=4, attention_dim=8, hidden_dim=8).eval()
    states, mask = make_batch()
    out = net(states, mask)
    assert (out["attention"][1, 3:] == 0).all()
    garbage = states.clone()
    garbage[1, 3:] = 1e3  # whatever sits in padded positions must not change the outputs
    garbage[2, 1:] = -7.0
    again = net(garbage, mask)
    for key in ("weights", "quality", "cost"):
        torch.testing.assert_close(out[key], again[key])


def test_a_single_query_scores_the_same_alone_and_in_a_padded_batch():
    net = RouterNet(token_dim=16, n_candidates=4, attention_dim=8, hidden_dim=8).eval()
    states, mask = make_batch()
    batched = net(states, mask)
    alone = net(states[1:2, :3], mask[1:2, :3])
    torch.testing.assert_close(batched["quality"][1], alone["quality"][0])
    torch.testing.assert_close(batched["weights"][1], alone["weights"][0])


def test_length_bucketed_batches_cover_every_query_once_with_little_padding():
    import numpy as np

    from router_core.model.train import length_bucketed

    rng = np.random.default_rng(0)
    lengths = np.concatenate([rng.integers(5, 40, 900), np.full(100, 128)])  # short prompts and a tail at the cut
    order = rng.permutation(1000)
    batches = length_bucketed(order, lengths, 64, np.random.default_rng(1))
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    assert all(len(b) <= 64 for b in batches)

    def padded(bs):
        return sum(lengths[b].max() * len(b) for b in bs) / lengths.sum()

    plain = [order[i:i + 64] for i in range(0, 1000, 64)]
    assert padded(plain) > 2.0 and padded(batches) < 1.2
    first = [b[0] for b in batches[:4]]
    again = [b[0] for b in length_bucketed(order, lengths, 64, np.random.default_rng(2))[:4]]
    assert first != again  # the order of batches is shuffled, not always short-to-long
