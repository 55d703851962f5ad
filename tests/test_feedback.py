"""Feedback on routed answers: POST /v1/feedback and the `feedback` verb, exploration with recorded propensities, and
off-policy estimates of another λ from a log (evaluate-policy)."""
import json
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest
from serve_support import ROOT, SAMPLE_ROUTER, client, decision, decisions, serve

from router_core import Router
from router_core.decisionlog.schema import DecisionRecord
from router_core.decisionlog.store import DecisionLog
from router_core.errors import RouterInputError
from router_core.feedback import store
from router_core.feedback.evaluate import evaluate_policy, linear_choices, read_logged
from router_core.feedback.explore import probabilities
from router_core.feedback.offpolicy import estimate

TOKEN = {"authorization": "Bearer fb-secret"}
PROMPTS = ["Prove that there are infinitely many primes", "hey! how was your weekend lol", "Write a haiku about rain",
           "Explain the difference between TCP and UDP", "What is 17 times 23?", "Summarise the plot of Hamlet"]


@pytest.fixture(scope="module")
def router():
    return Router.load(SAMPLE_ROUTER)


@pytest.mark.server
def test_feedback_is_stored_once_per_source_and_bad_feedback_is_a_clear_4xx(tmp_path, router):
    with serve("--demo", "--feedback-token-env", "FB", "--explore", "0.3", "--seed", "1", log_dir=tmp_path / "log",
               env_extra={"FB": "fb-secret"}) as url:
        replies = [client(url).chat.completions.create(model="crossroute-0.5", messages=[{"role": "user", "content": p}])
                   for p in PROMPTS * 4]
        first = replies[0].id
        post = lambda body, headers=TOKEN: httpx.post(f"{url}/v1/feedback", json=body, headers=headers)  # noqa: E731
        ok = post({"request_id": first, "score": 0.8, "comment": "good"})
        assert ok.status_code == 200 and ok.json() == {"object": "feedback", "request_id": first, "source": "user",
                                                       "score": 0.8, "replaced": False}
        again = post({"request_id": first, "thumbs": "down"})
        assert again.json()["replaced"] is True and again.json()["score"] == 0.0
        assert post({"request_id": first, "score": 1, "source": "judge"}).json()["replaced"] is False
        cases = [({"request_id": "chatcmpl-nope", "score": 0.5}, 404, "request_id"),
                 ({"request_id": first, "score": 1.5}, 400, "score"),
                 ({"request_id": first, "score": True}, 400, "score"),
                 ({"request_id": first, "thumbs": "sideways"}, 400, "thumbs"),
                 ({"request_id": first}, 400, "score"),
                 ({"request_id": first, "score": 0.5, "thumbs": "up"}, 400, "score"),
                 ({"request_id": first, "score": 0.5, "stars": 5}, 400, "stars")]
        for body, status, param in cases:
            response = post(body)
            assert response.status_code == status and response.json()["error"]["param"] == param, (body, response.text)
        assert post({"request_id": first, "score": 0.5}, headers={"authorization": "Bearer wrong"}).status_code == 401
        assert httpx.post(f"{url}/v1/feedback", content=b"{not json", headers=TOKEN).status_code == 400
        for reply in replies[1:]:
            post({"request_id": reply.id, "score": 0.5 + 0.5 * (len(reply.choices[0].message.content) % 2)})
        assert 'crossroute_feedback_total{source="user"}' in httpx.get(f"{url}/metrics").text
    rows = {r["request_id"]: r for r in decisions(tmp_path / "log", len(replies))}
    explored = [r for r in rows.values() if r["explored"]]
    assert 0 < len(explored) < len(rows)  # about 30% of 24
    for row in rows.values():
        chances = {m: v["probability"] for m, v in json.loads(row["candidates"]).items()}
        assert sum(chances.values()) == pytest.approx(1.0)
        routed = json.loads(row["called"])[0]
        assert row["propensity"] == pytest.approx(chances[routed]) and row["propensity"] > 0
        assert (row["propensity"] == pytest.approx(0.7)) == (not row["explored"])
    scored = store.scored_decisions(tmp_path / "log")
    assert len(scored) == len(replies)
    assert [r["score"] for r in scored if r["request_id"] == first] == [0.5]  # the user's 0 and the judge's 1, averaged
    assert [r["score"] for r in store.scored_decisions(tmp_path / "log", ("user",)) if r["request_id"] == first] == [0.0]

    run = subprocess.run([sys.executable, "-m", "router_core", "evaluate-policy", "--log", str(tmp_path / "log"), "--lam", "1",
                          "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["requests"] == len(replies) and 0 < result["support"] <= 1
    assert result["ips"]["low"] <= result["ips"]["value"] <= result["ips"]["high"]
    cli = subprocess.run([sys.executable, "-m", "router_core", "feedback", "--log", str(tmp_path / "log"), "--request-id",
                          "nope", "--score", "0.5"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert cli.returncode == 2 and "no decision with request_id 'nope'" in cli.stderr


@pytest.mark.server
def test_feedback_is_off_without_its_token(tmp_path):
    with serve("--demo", log_dir=tmp_path / "log") as url:
        reply = client(url).chat.completions.create(model="crossroute", messages=[{"role": "user", "content": "hi"}])
        response = httpx.post(f"{url}/v1/feedback", json={"request_id": reply.id, "score": 1}, headers=TOKEN)
    assert response.status_code == 404 and "--feedback-token-env" in response.json()["error"]["message"]
    assert decision(tmp_path / "log", reply.id)["propensity"] == 1.0


def test_exploration_gives_the_router_its_share_and_the_rest_by_utility():
    chances = probabilities({"a": 0.9, "b": 0.5, "c": 0.49}, ["a", "b", "c"], "a", 0.1)
    assert chances["a"] == pytest.approx(0.9) and sum(chances.values()) == pytest.approx(1.0)
    assert chances["b"] > chances["c"] > 0
    assert probabilities({"a": 0.9, "b": 0.5}, ["a", "b"], "a", 0.0) == {"a": 1.0, "b": 0.0}


def _logged_sample(router, folder, lam, epsilon, seed, n=300):
    """A decision log of `n` sample queries routed at `lam` with exploration, and feedback equal to a known quality
    per (query, model): the truth any other λ's quality can be computed from."""
    queries = [f"{p} (case {i})" for i, p in enumerate(PROMPTS * (n // len(PROMPTS)))]
    scores = router.scores(queries)
    truth = np.clip(scores.quality + np.random.default_rng(seed).normal(0, 0.15, scores.quality.shape), 0, 1)
    rng = np.random.default_rng(seed)
    log = DecisionLog(folder)
    names = list(router.candidates)
    for i, d in enumerate(router.decide(scores, lam)):
        chances = probabilities({m: d.per_candidate[m]["utility"] for m in names}, names, d.candidate, epsilon)
        routed = names[int(rng.choice(len(names), p=[chances[m] for m in names]))]
        record = DecisionRecord(f"req-{i}", lam=lam, policy="linear", called=[routed], model=routed, cost_usd=0.001,
                                candidates={m: {**d.per_candidate[m], "probability": chances[m]} for m in names},
                                propensity=chances[routed])
        log.append(record)
    log.close()
    return scores, truth


def test_another_lambda_is_read_back_from_the_log_as_the_router_would_decide(tmp_path, router):
    scores, _ = _logged_sample(router, tmp_path, 0.3, 0.2, 0, n=120)
    for i in range(120):
        store.record(tmp_path, store.Feedback(f"req-{i}", 0.5))
    logged = read_logged(tmp_path)
    for lam in (0.0, 0.6, 1.0):
        expected = [list(router.candidates).index(d.candidate) for d in router.decide(scores, lam)]
        got = [router.candidates.index(logged.candidates[j]) for j in linear_choices(logged, np.full(len(logged), lam))]
        assert got == expected


def test_off_policy_intervals_cover_the_true_quality_of_another_lambda():
    rng = np.random.default_rng(0)
    covered, draws = 0, 50
    for _ in range(draws):
        n, m = 400, 3
        quality = rng.uniform(0.2, 0.9, (n, m))
        predicted = np.clip(quality + rng.normal(0, 0.1, (n, m)), 0, 1)
        greedy = predicted.argmax(axis=1)
        probs = np.full((n, m), 0.1)
        probs[np.arange(n), greedy] = 0.8
        logged = np.array([rng.choice(m, p=p) for p in probs])
        rewards = (rng.uniform(size=n) < quality[np.arange(n), logged]).astype(float)  # 0/1 feedback
        target = (predicted - np.array([0.0, 0.1, 0.2])).argmax(axis=1)  # another policy
        result = estimate(rewards, logged, probs, target, predicted, np.ones((n, m)), np.ones(n))
        truth = quality[np.arange(n), target].mean()
        covered += result.dr.low <= truth <= result.dr.high
    assert covered >= 0.85 * draws


def test_a_policy_the_log_never_agreed_with_gets_the_whole_range_not_the_predictions_certainty():
    from router_core.feedback.offpolicy import estimate

    n = 200
    rewards, logged = np.full(n, 0.8), np.zeros(n, dtype=int)
    probs = np.tile([0.99, 0.01], (n, 1))
    target = np.ones(n, dtype=int)  # always the model the log never routed to
    predicted = np.tile([0.8, 0.3], (n, 1))
    result = estimate(rewards, logged, probs, target, predicted, np.ones((n, 2)), np.ones(n))
    assert result.agreement == 0.0
    assert (result.dr.low, result.dr.high) == (0.0, 1.0) and (result.ips.low, result.ips.high) == (0.0, 1.0)
    assert result.dr.value == pytest.approx(0.3)  # the prediction, stated as such, with no narrower interval than the feedback allows


def test_a_log_without_feedback_or_from_other_models_is_refused_clearly(tmp_path, router):
    log = DecisionLog(tmp_path)
    log.append(DecisionRecord("r1", lam=0.5, called=["a"], model="a", candidates={"a": {"predicted_quality": 0.5,
               "predicted_cost_usd": 0.1, "utility": 0.2}}))
    log.close()
    with pytest.raises(RouterInputError, match="no answered, scored request with feedback"):
        evaluate_policy(tmp_path, lam=0.2)
    store.record(tmp_path, store.Feedback("r1", 1.0))
    with pytest.raises(RouterInputError, match="a router is evaluated on a log of the same models"):
        evaluate_policy(tmp_path, lam=0.2, router=router)


HARD = ["write a python function that sorts list with unit tests", "prove theorem step by step",
        "solve equation x plus two equals five step by step", "detailed essay about history of rome"]


def test_learning_moves_only_the_labelled_models_evidence_and_is_saved(tiny_router_dir, tmp_path):
    from router_core.feedback.learn import PartialLabels, learn

    router = Router.load(tiny_router_dir)
    stage = router.parts.pipeline.quality
    assert stage.network_weight < 1.0  # a stage with evidence besides the network, which learning changes
    names = list(router.candidates)
    queries = [f"{q} #{i}" for i in range(10) for q in HARD]
    quality = np.full((len(queries), len(names)), np.nan)
    quality[:, names.index("budget")] = 1.0  # the cheap model turns out to answer the hard queries well
    learned = learn(router, PartialLabels([f"q{i}" for i in range(len(queries))], queries, names, quality, "fb.csv"))
    before, after = router.scores(queries[:4]).quality, learned.scores(queries[:4]).quality
    budget = names.index("budget")
    assert (after[:, budget] > before[:, budget] + 0.05).all()  # close, consistent feedback: a clear correction
    largest_residual = (1.0 - router.scores(queries).quality[:, budget]).max()
    assert ((after - before)[:, budget] < largest_residual).all()  # a shrunk mean of the residuals, never beyond them
    others = [j for j in range(len(names)) if j != budget]
    np.testing.assert_allclose(after[:, others], before[:, others], atol=1e-6)  # no label, no change
    entry = learned.training.learned[-1]
    assert entry["queries"] == 40 and entry["labels_per_model"] == {"premium": 0, "mid": 0, "budget": 40}
    again = Router.load(learned.save(tmp_path / "learned"))
    np.testing.assert_allclose(again.scores(queries[:4]).quality, after, atol=1e-6)
    assert again.training.learned == learned.training.learned and router.training.learned == ()


def test_a_feedback_file_with_a_fault_is_refused_naming_it(tmp_path):
    from router_core.feedback.learn import read_partial

    cases = {"no_model.csv": ("query_id,query,quality\nq1,hi,0.5\n", "missing column(s) model"),
             "bad_quality.csv": ("query_id,query,model,quality\nq1,hi,a,0.5\nq2,yo,a,1.5\n", "row 3 has '1.5'"),
             "other_model.csv": ("query_id,query,model,quality\nq1,hi,gpt-9,0.5\n", "gpt-9 are not models of this router"),
             "blank.csv": ("query_id,query,model,quality\nq1,,a,0.5\n", "column 'query' is empty on row 2")}
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(RouterInputError) as error:
            read_partial(tmp_path / name, ["a", "b"])
        assert message in str(error.value) and name in str(error.value)
    (tmp_path / "ok.csv").write_text("query_id,query,model,quality\nq1,hi,a,0.5\nq1,hi,b,1\nq2,yo,b,0\n")
    labels = read_partial(tmp_path / "ok.csv", ["a", "b"])
    assert labels.counts == {"a": 1, "b": 2} and np.isnan(labels.quality[1, 0])


@pytest.mark.server
def test_a_router_learns_from_the_feedback_in_its_servers_log(tmp_path, router):
    with serve("--demo", "--log-prompts", "--feedback-token-env", "FB", log_dir=tmp_path / "log",
               env_extra={"FB": "fb-secret"}) as url:
        for prompt in PROMPTS * 2:
            reply = client(url).chat.completions.create(model="crossroute-0.5", messages=[{"role": "user", "content": prompt}])
            httpx.post(f"{url}/v1/feedback", json={"request_id": reply.id, "thumbs": "up"}, headers=TOKEN).raise_for_status()
    run = subprocess.run([sys.executable, "-m", "router_core", "learn", "--log", str(tmp_path / "log"), "--out",
                          str(tmp_path / "learned")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    learned = Router.load(tmp_path / "learned")
    assert learned.training.learned[-1]["queries"] == 2 * len(PROMPTS)  # each request is a query of its own
    assert len(learned.parts.pipeline.quality.feedback) == 12


def _learned_sample(router, folder):
    """The sample router after learning that the cheapest model answers maths well: another router, same models."""
    from router_core.feedback.learn import PartialLabels, learn

    names = list(router.candidates)
    queries = [f"What is {a} times {b}?" for a in range(3, 13) for b in range(11, 14)]
    quality = np.full((len(queries), len(names)), np.nan)
    quality[:, names.index("mistral-nemo")] = 1.0
    return learn(router, PartialLabels([f"q{i}" for i in range(len(queries))], queries, names, quality, "maths")).save(folder)


@pytest.mark.server
def test_a_router_in_shadow_is_logged_beside_the_router_and_promoted_without_a_restart(tmp_path, router, tiny_router_dir):
    candidate = _learned_sample(router, tmp_path / "candidate")
    candidate_id = Router.load(candidate).id
    admin = {"authorization": "Bearer adm"}
    with serve("--demo", "--shadow", str(candidate), "--admin-token-env", "ADM", log_dir=tmp_path / "log",
               env_extra={"ADM": "adm"}) as url:
        replies = [client(url).chat.completions.create(model="crossroute-0.4", messages=[{"role": "user", "content": p}])
                   for p in PROMPTS]
        state = httpx.get(f"{url}/admin/router", headers=admin).json()
        assert state["router"] == router.id and state["shadow"]["router"] == candidate_id
        refused = [httpx.put(f"{url}/admin/router", json=body, headers=admin) for body in
                   ({"path": str(tiny_router_dir)}, {"path": str(tmp_path / "nowhere")}, {"colour": "red"})]
        assert [r.status_code for r in refused] == [400, 400, 400]
        assert "same models" in refused[0].json()["error"]["message"]
        assert httpx.put(f"{url}/admin/router", json={"shadow": True}).status_code == 401
        promoted = httpx.put(f"{url}/admin/router", json={"shadow": True}, headers=admin, timeout=120)
        assert promoted.status_code == 200, promoted.text
        assert promoted.json()["router"] == candidate_id and promoted.json()["previous"] == router.id
        assert promoted.json()["shadow"] is None
        assert httpx.get(f"{url}/health").json()["router"] == candidate_id
        after = client(url).chat.completions.create(model="crossroute-0.4", messages=[{"role": "user", "content": "What is 7 times 12?"}])
    rows = {r["request_id"]: r for r in decisions(tmp_path / "log", len(replies) + 1)}
    for reply in replies:
        row = rows[reply.id]
        assert row["shadow_router"] == candidate_id and row["shadow_model"] in router.candidates
        assert row["shadow_predicted_cost_usd"] > 0
    assert rows[after.id]["shadow_model"] is None  # the shadow took over: nothing is in shadow now
    from router_core.decisionlog import queries

    summary = queries.shadow_summary(queries.connect(tmp_path / "log"), queries.Filters())
    assert summary["requests"] == len(replies) and 0 <= summary["agreement"] <= 1


@pytest.mark.server
def test_a_sampled_judge_scores_answers_within_its_daily_budget(tmp_path, router):
    from fake_upstream import fake_upstream
    from serve_support import models_yaml

    with fake_upstream() as (upstream_url, fake):
        config = models_yaml(tmp_path / "config.yaml", upstream_url, router)
        for budget, folder in (("1", "ample"), ("0.0000001", "tiny")):
            with serve("--models", str(config), "--judge", "gpt-4o-mini", "--judge-rate", "1", "--judge-budget-usd", budget,
                       log_dir=tmp_path / folder) as url:
                replies = [client(url).chat.completions.create(model="crossroute-0.5", messages=[{"role": "user", "content": p}])
                           for p in PROMPTS[:4]]
                deadline = time.monotonic() + 60
                while budget == "1" and len(store.scored_decisions(tmp_path / folder, ("judge",))) < 4:
                    assert time.monotonic() < deadline, "the judge did not score every answer within 60 s"
                    time.sleep(0.1)
                metrics = httpx.get(f"{url}/metrics").text
            judged = store.scored_decisions(tmp_path / folder, ("judge",))
            if budget == "1":
                assert {r["request_id"] for r in judged} == {r.id for r in replies}
                assert {round(r["score"], 4) for r in judged} == {round(7 / 9, 4)}  # "Score: 8" on 1..10
                spent = store.spent_today(tmp_path / folder, "judge")
                assert 0 < spent <= 1 and "crossroute_judged_requests 4.0" in metrics
                grader_calls = [c for c in fake.calls if c["messages"] and c["messages"][0]["role"] == "system"]
                assert len(grader_calls) == 4 and all(c["model"] == "gpt-4o-mini" for c in grader_calls)
            else:
                assert judged == [] and store.spent_today(tmp_path / folder, "judge") == 0.0
            fake.reset()


@pytest.mark.server
def test_the_demo_judge_is_a_mock_at_no_cost(tmp_path):
    with serve("--demo", "--judge", "gpt-4o", "--judge-rate", "1", log_dir=tmp_path / "log") as url:
        reply = client(url).chat.completions.create(model="crossroute", messages=[{"role": "user", "content": "hi"}])
        deadline = time.monotonic() + 60
        while not store.scored_decisions(tmp_path / "log", ("judge",)):
            assert time.monotonic() < deadline, "the demo judge scored nothing within 60 s"
            time.sleep(0.1)
    (row,) = store.scored_decisions(tmp_path / "log", ("judge",))
    assert row["request_id"] == reply.id and 0 <= row["score"] <= 1 and store.spent_today(tmp_path / "log", "judge") == 0


def test_a_judge_reply_is_read_as_a_score_or_refused():
    from router_core.serve.judge import parse_score

    assert parse_score("Score: 10") == 1.0 and parse_score("score=1") == 0.0 and parse_score("Score: 5/10") == pytest.approx(4 / 9)
    assert parse_score("I would say 7") is None and parse_score("") is None
