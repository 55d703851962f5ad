"""The server's surfaces under generated hostile input, with a fixed seed (benchmarks/reliability.py runs any seed):
1,000 broken requests, 1,000 admin API calls, 1,000 policy texts, clients that leave mid-stream, slow clients and an
upstream that fails at random. Zero crashes, zero silent wrongs, zero hangs, zero answered requests without a record,
and no decision log write failing."""
from __future__ import annotations

import httpx
import pytest
from reliability_server import TOKEN, fuzz_server
from server_fuzz import admin_fuzz, leave_mid_stream, policy_fuzz, request_fuzz, slow_clients, upstream_chaos

pytestmark = [pytest.mark.server, pytest.mark.slow]
SEED, CASES = 0, 1000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with fuzz_server(tmp_path_factory.mktemp("fuzz")) as running:
        yield running


def test_a_thousand_broken_requests_are_each_answered_or_refused_clearly(server):
    url, log_dir, _, _ = server
    outcomes = request_fuzz(url, log_dir, SEED, CASES)
    assert not outcomes["unrecorded"], f"{len(outcomes['unrecorded'])} answered requests have no decision record"
    bad = {k: outcomes[k][:3] for k in ("crash", "silent wrong", "hang") if outcomes[k]}
    assert not bad, bad
    assert len(outcomes["clear error"]) > CASES // 2 and len(outcomes["ok"]) > 20


def test_a_thousand_admin_api_calls_get_the_status_their_token_and_text_call_for(server):
    url, _, _, _ = server
    outcomes = admin_fuzz(url, TOKEN, SEED + 1, CASES)
    assert not outcomes["wrong"], outcomes["wrong"][:5]
    state = httpx.get(f"{url}/admin/lambda-policy", headers={"authorization": f"Bearer {TOKEN}"}, timeout=60)
    assert state.status_code == 200 and len(state.content) < 20_000 and state.json()


def test_a_thousand_policy_texts_parse_or_are_refused_in_one_line():
    outcomes = policy_fuzz(SEED + 2, CASES)
    assert not outcomes["wrong"] and not outcomes["crash"], (outcomes["wrong"] + outcomes["crash"])[:5]
    assert outcomes["ok"] and outcomes["clear error"]


def test_clients_leaving_mid_stream_are_recorded_as_cancelled(server):
    url, log_dir, fake, router = server
    outcome = leave_mid_stream(url, log_dir, fake, router.candidates[0], 10)
    assert len(outcome["recorded"]) == 10, outcome


def test_an_upstream_failing_at_random_loses_no_request_and_no_record(server):
    url, log_dir, fake, router = server
    outcomes = upstream_chaos(url, log_dir, fake, router.candidates, SEED + 3, 200)
    assert not outcomes["crash"] and not outcomes["hang"], (outcomes["crash"] + outcomes["hang"])[:3]
    assert not outcomes["unrecorded"], f"{len(outcomes['unrecorded'])} answered requests without a record"
    assert len(outcomes["ok"]) > 100  # answered, or a 502 only where every model failed
    metrics = httpx.get(f"{url}/metrics").text
    assert "crossroute_decision_log_failures 0.0" in metrics


def test_slow_clients_are_cut_off_and_the_server_answers_the_rest(server):
    url, _, _, _ = server
    outcome = slow_clients(url, 20)
    assert outcome["health"] == 200 and outcome["still_open"] == 0, outcome
