"""Prices from LiteLLM's map, exports the proxy runs, and spend logs as LiteLLM writes them."""
import io
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from serve_support import ROOT, SAMPLE_ROUTER

from router_core.data.catalog import catalog_from_litellm_config, catalog_to_litellm_config, load_catalog, price_checks
from router_core.data.litellm_prices import map_price
from router_core.data.request_log import load_request_log
from router_core.errors import RouterInputError


def csv(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode())


def test_a_row_without_prices_takes_litellms_and_a_stated_price_wins():
    catalog = load_catalog(csv("name,provider_model_id,input_usd_per_1m,output_usd_per_1m\n"
                               "mini,openai/gpt-4o-mini,,\n"
                               "nemo,mistral/open-mistral-nemo,0.15,0.15\n"), name="catalog.csv")
    known = map_price("openai/gpt-4o-mini")
    assert known is not None and known.key == "gpt-4o-mini"
    assert (catalog["mini"].input_usd_per_1m, catalog["mini"].output_usd_per_1m) == (known.input_usd_per_1m, known.output_usd_per_1m)
    assert (catalog["nemo"].input_usd_per_1m, catalog["nemo"].output_usd_per_1m) == (0.15, 0.15)
    nemo = map_price("mistral/open-mistral-nemo")
    assert nemo is not None and (nemo.input_usd_per_1m, nemo.output_usd_per_1m) != (0.15, 0.15)  # the map disagrees


def test_a_row_without_prices_that_litellm_does_not_know_is_refused_naming_it():
    with pytest.raises(RouterInputError, match=r"catalog.csv row 2: no price given and LiteLLM's price map does not know "
                                               r"'acme/model-9'"):
        load_catalog(csv("name,provider_model_id,input_usd_per_1m,output_usd_per_1m\nx,acme/model-9,,\n"), name="catalog.csv")
    with pytest.raises(RouterInputError, match="give both input_usd_per_1m and output_usd_per_1m"):
        load_catalog(csv("name,provider_model_id,input_usd_per_1m,output_usd_per_1m\nx,openai/gpt-4o,2.5,\n"), name="catalog.csv")


def test_prices_lists_every_disagreement_and_unknown_id():
    checks = {c.name: c for c in price_checks(ROOT / "sample_data" / "catalog.csv")}
    assert checks["gpt-4o"].status == "agrees"
    assert checks["mistral-nemo"].status == "differs (catalog wins)"
    assert checks["claude-3.5-haiku"].status == "unknown to LiteLLM"
    printed = subprocess.run([sys.executable, "-m", "router_core", "prices", "--catalog", str(ROOT / "sample_data" / "catalog.csv")],
                             cwd=ROOT, capture_output=True, text=True)
    assert printed.returncode == 0, printed.stderr
    assert "priced differently from LiteLLM's map (the catalog's price is used): mistral-nemo" in printed.stdout
    assert "LiteLLM's map does not know (check their provider_model_id): claude-3.5-haiku" in printed.stdout


def test_the_exported_config_has_clean_decimals_and_key_lines_and_reads_back_the_same():
    catalog = load_catalog(ROOT / "sample_data" / "catalog.csv")
    text = catalog_to_litellm_config(catalog)
    assert "0000000" not in text  # 0.8 per 1M is 8.0e-07 per token, without binary noise
    config = yaml.safe_load(text)
    keys = {e["model_name"]: e["litellm_params"]["api_key"] for e in config["model_list"]}
    assert keys["gpt-4o"] == "os.environ/OPENAI_API_KEY" and keys["claude-3.5-haiku"] == "os.environ/ANTHROPIC_API_KEY"
    assert catalog_from_litellm_config(config) == catalog


def test_serve_refuses_to_start_without_a_models_credentials_naming_it(tmp_path, monkeypatch):
    from router_core import Router
    from router_core.serve.run import build_app

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    router = Router.load(SAMPLE_ROUTER)
    config = yaml.safe_load(catalog_to_litellm_config(router.catalog))
    for entry in config["model_list"]:
        entry["litellm_params"].pop("api_key")  # as an export without key lines was
    models = tmp_path / "config.yaml"
    models.write_text(yaml.safe_dump(config))
    with pytest.raises(RouterInputError, match=r"missing credentials: gpt-4o \(openai/gpt-4o\) needs OPENAI_API_KEY"):
        build_app(router, models, log_dir=tmp_path / "log")
    models.write_text(catalog_to_litellm_config(router.catalog))  # with key lines: the variable is named
    with pytest.raises(RouterInputError, match=r"model_list\[0\] \(gpt-4o\)\.litellm_params\.api_key: environment variable "
                                               r"OPENAI_API_KEY is not set"):
        build_app(router, models, log_dir=tmp_path / "log")


SPEND_LOG = ("request_id,startTime,model,model_group,spend,prompt_tokens,completion_tokens,api_key,messages\n"
             "r1,2026-11-02T10:00:00Z,gpt-4o-2024-08-06,gpt-4o,0.01,100,200,hashed,\"[{\"\"role\"\": \"\"user\"\", \"\"content\"\": \"\"hi\"\"}]\"\n"
             "r2,2026-11-02T11:00:00Z,gpt-4o-mini-2024-07-18,gpt-4o-mini,0.001,100,200,hashed,\"[{\"\"role\"\": \"\"user\"\", \"\"content\"\": \"\"yo\"\"}]\"\n")


def test_a_spend_logs_model_group_is_its_model_and_dated_names_map_to_the_catalog():
    log = load_request_log(csv(SPEND_LOG), name="spend.csv")
    assert log.mapping["model"] == "model_group" and log.frame["model"].tolist() == ["gpt-4o", "gpt-4o-mini"]
    from router_core.data.catalog import catalog_names

    catalog = load_catalog(ROOT / "sample_data" / "catalog.csv")
    dated = load_request_log(csv(SPEND_LOG), {"model": "model"}, name="spend.csv").frame["model"]
    assert catalog_names(dated, catalog).tolist() == ["gpt-4o", "gpt-4o-mini"]
    other = pd.Series(["claude-3-5-haiku-20241022", "open-mistral-nemo-2407", "llama-3-70b"])
    assert catalog_names(other, catalog).tolist() == ["claude-3.5-haiku", "mistral-nemo", "llama-3-70b"]


def test_a_spend_log_without_prompts_says_how_litellm_keeps_them():
    without = SPEND_LOG.replace(",messages\n", "\n").replace(',"[{""role"": ""user"", ""content"": ""hi""}]"', "").replace(
        ',"[{""role"": ""user"", ""content"": ""yo""}]"', "")
    with pytest.raises(RouterInputError, match="store_prompts_in_spend_logs: true"):
        load_request_log(csv(without), name="spend.csv")
    empty = SPEND_LOG.replace('"[{""role"": ""user"", ""content"": ""hi""}]"', "{}").replace(
        '"[{""role"": ""user"", ""content"": ""yo""}]"', "{}")
    with pytest.raises(RouterInputError, match="store_prompts_in_spend_logs: true"):
        load_request_log(csv(empty), name="spend.csv")


def test_simulate_takes_a_column_mapping(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("when,body\n2026-11-02T10:00:00Z,hello there\n2026-11-02T11:00:00Z,prove that 2 is prime\n")
    run = subprocess.run([sys.executable, "-m", "router_core", "simulate", "--log", str(log), "--schedule", "constant:0.5",
                          "--map", "timestamp=when", "--map", "prompt=body"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert f"Log: 2 requests from {log} over 1 day; 2 distinct prompts scored" in run.stdout
    unmapped = subprocess.run([sys.executable, "-m", "router_core", "simulate", "--log", str(log)], cwd=ROOT,
                              capture_output=True, text=True)
    assert unmapped.returncode != 0 and "found columns when, body. Map them by hand" in unmapped.stderr


def test_cached_input_is_priced_from_the_catalog_or_litellms_map_and_charged_for_cached_tokens():
    catalog = load_catalog(csv("name,provider_model_id,input_usd_per_1m,output_usd_per_1m,cached_input_usd_per_1m\n"
                               "mini,openai/gpt-4o-mini,,,\n"
                               "own,openai/gpt-4o,2.5,10,1.0\n"
                               "plain,openai/gpt-4o,2.5,10,\n"), name="catalog.csv")
    known = map_price("openai/gpt-4o-mini")
    assert catalog["mini"].cached_input_usd_per_1m == known.cached_input_usd_per_1m  # every price from the map
    assert catalog["own"].cached_input_usd_per_1m == 1.0  # stated: the catalog's
    assert catalog["plain"].cached_input_usd_per_1m is None  # prices stated without one: input price for cached tokens
    assert catalog["own"].cost_usd(1000, 100, cached_tokens=800) == pytest.approx((200 * 2.5 + 800 * 1.0 + 100 * 10) / 1e6)
    assert catalog["plain"].cost_usd(1000, 100, cached_tokens=800) == pytest.approx((1000 * 2.5 + 100 * 10) / 1e6)
    again = catalog_from_litellm_config(yaml.safe_load(catalog_to_litellm_config(catalog)))
    assert again == catalog  # cache_read_input_token_cost written and read back
    from router_core.data.catalog import Catalog

    assert Catalog.from_dict(catalog.to_dict()) == catalog
    assert "cached_input_usd_per_1m" not in load_catalog(ROOT / "sample_data" / "catalog.csv").to_dict()["candidates"][0]


def test_the_server_charges_cached_prompt_tokens_at_the_cached_price():
    from types import SimpleNamespace

    from router_core.data.catalog import Candidate, Catalog
    from router_core.serve.deployments import Deployments
    from router_core.serve.upstream import Upstream

    catalog = Catalog((Candidate("own", "openai/gpt-4o", 2.5, 10.0, 300, 1.0),))
    upstream = Upstream(Deployments(({"model_name": "own", "litellm_params": {"model": "openai/gpt-4o"}},), ()),
                        catalog, ["own"])
    usage = SimpleNamespace(prompt_tokens=1000, completion_tokens=100,
                            prompt_tokens_details=SimpleNamespace(cached_tokens=800))
    charged = upstream._price("own", 1000, 100, SimpleNamespace(usage=usage))
    assert charged == pytest.approx((200 * 2.5 + 800 * 1.0 + 100 * 10) / 1e6)
    streamed = upstream._price("own", 1000, 100, None, cached_tokens=800)  # a stream's usage chunk, as a dict
    assert streamed == charged
