"""Agents and conversations through the router server, with real clients (the openai SDK, LangChain, LiteLLM, the
OpenAI Agents SDK) against a fake upstream on 127.0.0.1: the upstream's answer relayed whole (tool calls, every choice,
log-probabilities, usage details), plain and streamed; the whole conversation routed and priced; a request's own
limits; its own fallback order; and a conversation kept on one model."""
from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import yaml
from fake_upstream import CACHED_TOKENS, COMPLETION_TOKENS, FINGERPRINT, PROMPT_TOKENS, REASONING_TOKENS, fake_upstream
from serve_support import MATHS, SAMPLE_ROUTER, client, decision, models_yaml, serve

from router_core import Router
from router_core.data.messages import conversation
from router_core.serve.tokens import prompt_tokens

pytestmark = [pytest.mark.server]

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "The weather in a city",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                           "required": ["city"]}}}
ASK_WEATHER = [{"role": "user", "content": "What is the weather in Paris today?"}]
CHAT = "hey! how was your weekend lol"


@pytest.fixture(scope="module")
def router():
    return Router.load(SAMPLE_ROUTER)


@pytest.fixture(scope="module")
def upstream():
    with fake_upstream() as (url, fake):
        yield url, fake


@pytest.fixture(scope="module")
def server(tmp_path_factory, upstream, router):
    folder = tmp_path_factory.mktemp("traffic")
    config = models_yaml(folder / "config.yaml", upstream[0], router)
    with serve("--models", str(config), "--upstream-timeout", "5", "--retries", "0", log_dir=folder / "log") as url:
        yield url, folder / "log"


@pytest.fixture
def fake(upstream):
    upstream[1].reset()
    yield upstream[1]
    upstream[1].reset()


def test_a_tool_call_comes_back_whole_with_every_field_and_the_request_fields_reach_the_upstream(server, fake):
    url, log_dir = server
    raw = client(url).chat.completions.with_raw_response.create(
        model="crossroute-0.5", messages=ASK_WEATHER, tools=[WEATHER], tool_choice="auto", parallel_tool_calls=False,
        n=2, logprobs=True, top_logprobs=2, seed=7, reasoning_effort="low", temperature=0.2, user="ana",
        metadata={"team": "search"})
    reply = raw.parse()
    assert [c.finish_reason for c in reply.choices] == ["tool_calls", "tool_calls"]  # every choice, as the upstream gave
    call = reply.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    assert reply.choices[0].message.content is None and reply.choices[1].message.tool_calls[0].id.endswith("_1")
    assert reply.system_fingerprint == FINGERPRINT and reply.id == raw.headers["x-crossroute-request-id"]
    assert reply.usage.prompt_tokens_details.cached_tokens == CACHED_TOKENS
    assert reply.usage.completion_tokens_details.reasoning_tokens == REASONING_TOKENS
    sent = fake.calls[-1]["body"]
    for field, value in (("tool_choice", "auto"), ("parallel_tool_calls", False), ("n", 2), ("logprobs", True),
                         ("top_logprobs", 2), ("seed", 7), ("reasoning_effort", "low"), ("temperature", 0.2)):
        assert sent[field] == value, field
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    record = decision(log_dir, reply.id)
    assert (record["user"], record["team"], record["tools_offered"], record["turns"]) == ("ana", "search", 1, 1)
    assert record["prompt_tokens"] > 20  # the tool definition is part of the prompt


def test_log_probabilities_and_a_refusal_are_relayed(server, fake, router):
    url, _ = server
    chosen = router.route(CHAT, 1.0)[0].candidate
    reply = client(url).chat.completions.create(model="crossroute-1", messages=[{"role": "user", "content": CHAT}],
                                                logprobs=True)
    assert [t.token for t in reply.choices[0].logprobs.content] == ["answer", "from", chosen]
    fake.set(chosen, "refuse")
    refused = client(url).chat.completions.create(model="crossroute-1", messages=[{"role": "user", "content": CHAT}])
    assert refused.choices[0].message.refusal == "I can't help with that." and refused.model == chosen


def test_a_streamed_tool_call_arrives_in_order_and_usage_only_when_asked(server, fake):
    url, _ = server
    plain = client(url).chat.completions.create(model="crossroute-0.5", messages=ASK_WEATHER, tools=[WEATHER])
    chunks = list(client(url).chat.completions.create(model="crossroute-0.5", messages=ASK_WEATHER, tools=[WEATHER],
                                                      stream=True))
    deltas = [d for c in chunks for ch in c.choices for d in (ch.delta.tool_calls or [])]
    assert len(deltas) == 2 and deltas[0].function.name == "get_weather"  # the arguments came in two pieces
    assert "".join(d.function.arguments or "" for d in deltas) == plain.choices[0].message.tool_calls[0].function.arguments
    assert [ch.finish_reason for c in chunks for ch in c.choices if ch.finish_reason] == ["tool_calls"]
    assert all(c.usage is None for c in chunks)  # not asked for: not sent
    with_usage = list(client(url).chat.completions.create(model="crossroute-0.5", messages=ASK_WEATHER, tools=[WEATHER],
                                                          stream=True, stream_options={"include_usage": True}))
    assert with_usage[-1].choices == [] and with_usage[-1].usage.total_tokens == PROMPT_TOKENS + COMPLETION_TOKENS


def test_a_tool_result_round_trip_is_routed_on_the_users_turn(server, fake, router):
    url, log_dir = server
    first = client(url).chat.completions.create(model="crossroute-0.5", messages=ASK_WEATHER, tools=[WEATHER])
    call = first.choices[0].message.tool_calls[0]
    turn = ASK_WEATHER + [{"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
                          {"role": "tool", "tool_call_id": call.id, "content": "18°C and sunny"}]
    second = client(url).chat.completions.create(model="crossroute-0.5", messages=turn, tools=[WEATHER])
    assert second.choices[0].message.content.endswith("using the tool result: 18°C and sunny")
    assert fake.calls[-1]["messages"][-1] == {"role": "tool", "tool_call_id": call.id, "content": "18°C and sunny"}
    assert decision(log_dir, second.id)["turns"] == 2  # the user's turn and the assistant's tool call


def test_the_whole_conversation_is_priced(server, fake, router):
    url, log_dir = server
    long_system = {"role": "system", "content": "You answer questions about our product catalogue. " * 440}  # ~22k chars
    bare = client(url).chat.completions.with_raw_response.create(model="crossroute-1", messages=[{"role": "user", "content": CHAT}])
    long = client(url).chat.completions.with_raw_response.create(model="crossroute-1",
                                                                messages=[long_system, {"role": "user", "content": CHAT}])
    bare_cost, long_cost = (float(r.headers["x-crossroute-predicted-cost-usd"]) for r in (bare, long))
    bare_row, long_row = decision(log_dir, bare.parse().id), decision(log_dir, long.parse().id)
    assert long_row["prompt_tokens"] > 3000 > 100 > bare_row["prompt_tokens"]  # counted with a tokenizer, every message
    for messages, cost, row in (([{"role": "user", "content": CHAT}], bare_cost, bare_row),
                                ([long_system, {"role": "user", "content": CHAT}], long_cost, long_row)):
        text = conversation(messages).routing_text  # the user's turn, then the system prompt's start
        expected = router.decide(router.scores([text], input_tokens=[row["prompt_tokens"]]), 1.0)[0].predicted_cost_usd
        assert cost == pytest.approx(expected, rel=1e-6)
    cheapest = router.catalog[long.headers["x-crossroute-model"]]
    extra_tokens = long_row["prompt_tokens"] - bare_row["prompt_tokens"]
    assert long_cost - bare_cost > 0.9 * extra_tokens * cheapest.input_usd_per_1m / 1e6  # the long prompt is paid for


def test_a_requests_own_limits_pick_among_its_models_or_say_which_limit_no_model_meets(server, fake, router):
    url, _ = server
    names = list(router.candidates)
    best = router.route(MATHS, 0.0)[0].candidate
    others = [m for m in names if m != best]
    kept = client(url).chat.completions.create(model="crossroute-0", messages=[{"role": "user", "content": MATHS}],
                                               extra_body={"crossroute": {"exclude": [best]}})
    assert kept.model in others and fake.calls_to(best) == 0
    only = client(url).chat.completions.create(model="crossroute-0", messages=[{"role": "user", "content": MATHS}],
                                               extra_body={"crossroute": {"models": others[-1:]}})
    assert only.model == others[-1]
    scores = router.scores([MATHS], input_tokens=[prompt_tokens([{"role": "user", "content": MATHS}])])  # as the server prices it
    cheap = min(router.decide(scores, 1.0)[0].per_candidate.items(), key=lambda kv: kv[1]["predicted_cost_usd"])
    within = client(url).chat.completions.create(model="crossroute-0", messages=[{"role": "user", "content": MATHS}],
                                                 extra_body={"crossroute": {"max_cost_usd": cheap[1]["predicted_cost_usd"] * 1.0001}})
    assert within.model == cheap[0]
    calls = len(fake.calls)
    for options, param, says in (({"max_cost_usd": 1e-12}, "crossroute.max_cost_usd", "no model this request may use is predicted to cost at most"),
                                 ({"min_quality": 0.9999}, "crossroute.min_quality", "no model this request may use is predicted to reach 0.9999"),
                                 ({"models": ["gpt-9"]}, "crossroute.models", "'gpt-9' not among the router's models"),
                                 ({"models": [best], "exclude": [best]}, "crossroute.exclude", "removes every model")):
        response = httpx.post(f"{url}/v1/chat/completions", json={"model": "crossroute", "crossroute": options,
                                                                  "messages": [{"role": "user", "content": MATHS}]}, timeout=60)
        error = response.json()["error"]
        assert response.status_code == 400 and error["param"] == param and says in error["message"], response.text
    assert len(fake.calls) == calls  # refused before any model was called


def test_a_failing_model_falls_back_along_this_requests_own_ranking(server, fake, router):
    url, log_dir = server
    for lam in (0.0, 0.6):
        ranking = sorted(router.route(CHAT, lam)[0].per_candidate.items(), key=lambda kv: -kv[1]["utility"])
        fake.set(ranking[0][0], "fail")
        reply = client(url).chat.completions.create(model=f"crossroute-{lam}", messages=[{"role": "user", "content": CHAT}])
        assert reply.model == ranking[1][0], f"λ={lam}: expected the request's second choice"
        assert decision(log_dir, reply.id)["fallback_reason"].startswith(f"{ranking[0][0]} failed")
        fake.reset()


def test_a_conversation_stays_on_the_model_of_its_first_turn_until_lambda_changes_or_the_model_fails(server, fake, router):
    url, log_dir = server
    lam = next(lam for lam in (0.3, 0.4, 0.45, 0.5, 0.55, 0.6)  # a λ at which the two turns part ways on their own
               if router.route(MATHS, lam)[0].candidate != router.route(CHAT, lam)[0].candidate)
    first = router.route(MATHS, lam)[0].candidate
    name = f"crossroute-{lam:g}"
    headers = {"x-crossroute-conversation": "conv-1"}
    opened = client(url).chat.completions.create(model=name, messages=[{"role": "user", "content": MATHS}],
                                                 extra_headers=headers)
    later = client(url).chat.completions.create(model=name, extra_headers=headers, messages=[
        {"role": "user", "content": MATHS}, {"role": "assistant", "content": "…"}, {"role": "user", "content": CHAT}])
    assert opened.model == later.model == first
    assert decision(log_dir, later.id)["conversation"] == "conv-1"
    by_body = client(url).chat.completions.create(model=name, messages=[{"role": "user", "content": CHAT}],
                                                  extra_body={"crossroute": {"conversation": "conv-1"}})
    assert by_body.model == first
    moved = client(url).chat.completions.create(model="crossroute-1", messages=[{"role": "user", "content": CHAT}],
                                                extra_headers=headers)
    assert moved.model == router.route(CHAT, 1.0)[0].candidate  # another λ: routed afresh, and kept from now on
    fake.set(moved.model, "fail")
    rescued = client(url).chat.completions.create(model="crossroute-1", messages=[{"role": "user", "content": CHAT}],
                                                  extra_headers=headers)
    assert rescued.model != moved.model
    fake.reset()
    assert client(url).chat.completions.create(model="crossroute-1", messages=[{"role": "user", "content": CHAT}],
                                               extra_headers=headers).model == rescued.model


def test_a_model_that_cannot_take_the_request_is_kept_off_it(tmp_path, upstream, router):
    url_upstream, fake = upstream
    fake.reset()
    best = router.route(MATHS, 0.0)[0].candidate
    config = models_yaml(tmp_path / "config.yaml", url_upstream, router)
    entries = yaml.safe_load(config.read_text())
    for entry in entries["model_list"]:
        if entry["model_name"] == best:
            entry["model_info"] = {"max_input_tokens": 150, "supports_function_calling": False}
    config.write_text(yaml.safe_dump(entries))
    with serve("--models", str(config), log_dir=tmp_path / "log") as url:
        short = client(url).chat.completions.create(model="crossroute-0", messages=[{"role": "user", "content": MATHS}])
        assert short.model == best  # it fits: the best model still takes it
        long = client(url).chat.completions.create(model="crossroute-0", messages=[{"role": "user", "content": MATHS + " please" * 200}])
        tools = client(url).chat.completions.create(model="crossroute-0", messages=[{"role": "user", "content": MATHS}],
                                                    tools=[WEATHER])
        assert long.model != best and tools.model != best
        refused = httpx.post(f"{url}/v1/chat/completions", timeout=60, json={
            "model": "crossroute-0", "crossroute": {"models": [best]}, "tools": [WEATHER],
            "messages": [{"role": "user", "content": MATHS}]})
        assert refused.status_code == 400 and "does not call tools" in refused.json()["error"]["message"]


def test_a_langchain_agent_completes_a_tool_round_trip(server, fake):
    pytest.importorskip("langchain_openai")
    from langchain.agents import create_agent
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI

    url, _ = server
    seen = []

    @tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        seen.append(city)
        return "18°C and sunny"

    model = ChatOpenAI(model="crossroute-0.5", base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=60)
    agent = create_agent(model, tools=[get_weather])
    result = agent.invoke({"messages": [{"role": "user", "content": "What is the weather in Paris today?"}]})
    assert seen == ["Paris"]
    assert result["messages"][-1].content.endswith("using the tool result: 18°C and sunny")
    assert [c["messages"][-1]["role"] for c in fake.calls] == ["user", "tool"]


def test_litellm_as_a_client_gets_plain_and_streamed_answers(server, fake, router):
    import litellm

    url, _ = server
    expected = router.route(CHAT, 1.0)[0].candidate
    reply = litellm.completion(model="openai/crossroute-1", api_base=f"{url}/v1", api_key="unused",
                               messages=[{"role": "user", "content": CHAT}])
    assert reply.choices[0].message.content == f"answer from {expected}"
    streamed = litellm.completion(model="openai/crossroute-1", api_base=f"{url}/v1", api_key="unused", stream=True,
                                  messages=[{"role": "user", "content": CHAT}])
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices).strip() == f"answer from {expected}"


def run_weather_agent(url: str, responses_api: bool) -> tuple[list, str]:
    """The OpenAI Agents SDK with one tool, through the router (chat completions or the Responses API)."""
    agents = pytest.importorskip("agents")
    from openai import AsyncOpenAI

    seen = []

    @agents.function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        seen.append(city)
        return "18°C and sunny"

    client_ = AsyncOpenAI(base_url=f"{url}/v1", api_key="unused")
    kind = agents.OpenAIResponsesModel if responses_api else agents.OpenAIChatCompletionsModel
    agent = agents.Agent(name="weather", instructions="Answer with the tool.", tools=[get_weather],
                         model=kind(model="crossroute-0.5", openai_client=client_))
    agents.set_tracing_disabled(True)
    return seen, asyncio.run(agents.Runner.run(agent, "What is the weather in Paris today?")).final_output


def test_the_openai_agents_sdk_runs_a_tool_through_the_router(server, fake):
    seen, answer = run_weather_agent(server[0], responses_api=False)
    assert seen == ["Paris"] and answer.endswith("using the tool result: 18°C and sunny")


def test_the_responses_api_is_routed_relayed_whole_and_chained_to_the_model_that_holds_it(server, fake, router):
    url, log_dir = server
    expected = router.route(CHAT, 1.0)[0].candidate
    raw = client(url).responses.with_raw_response.create(model="crossroute-1", input=CHAT, instructions="Be brief.")
    reply = raw.parse()
    assert reply.output_text == f"answer from {expected}" and raw.headers["x-crossroute-model"] == expected
    assert reply.usage.input_tokens_details.cached_tokens == CACHED_TOKENS
    assert fake.calls[-1]["body"]["instructions"] == "Be brief." and fake.calls[-1]["body"]["input"] == CHAT
    row = decision(log_dir, raw.headers["x-crossroute-request-id"])
    assert row["model"] == expected and row["turns"] == 1 and row["cost_usd"] > 0
    # the next turn names the previous response: it goes to the model holding it, whatever λ would choose now
    chained = client(url).responses.create(model="crossroute-0", input="Prove that the square root of 2 is irrational",
                                           previous_response_id=reply.id)
    assert chained.output_text == f"answer from {expected}"
    tools = [{"type": "function", "name": "get_weather", "parameters": WEATHER["function"]["parameters"]}]
    called = client(url).responses.create(model="crossroute-0.5", input="What is the weather in Paris today?", tools=tools)
    call = next(item for item in called.output if item.type == "function_call")
    done = client(url).responses.create(model="crossroute-0.5", tools=tools, previous_response_id=called.id,
                                        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "18°C"}])
    assert done.output_text.endswith("using the tool result: 18°C")
    events = list(client(url).responses.create(model="crossroute-1", input=CHAT, stream=True))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta").strip() == f"answer from {expected}"
    assert events[-1].type == "response.completed" and events[-1].response.usage.output_tokens == COMPLETION_TOKENS


def test_the_openai_agents_sdk_on_the_responses_api_runs_a_tool_through_the_router(server, fake):
    seen, answer = run_weather_agent(server[0], responses_api=True)
    assert seen == ["Paris"] and answer.endswith("using the tool result: 18°C and sunny")
