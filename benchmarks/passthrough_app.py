"""The load benchmark's baseline: the same stack as the router server (FastAPI, uvicorn, LiteLLM's Router) forwarding
every request to one fixed model, with no scoring, no fallback bookkeeping and no decision log.

    CROSSROUTE_PASSTHROUGH_BASE=http://127.0.0.1:PORT/v1 python -m uvicorn passthrough_app:app --port N
"""
import os
import time

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm  # noqa: E402
from fastapi import FastAPI, Request  # noqa: E402

MODEL = "gpt-4o-mini"
router = litellm.Router(model_list=[{"model_name": MODEL, "litellm_params": {
    "model": f"openai/{MODEL}", "api_base": os.environ["CROSSROUTE_PASSTHROUGH_BASE"], "api_key": "fake"}}], num_retries=0)
app = FastAPI()


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.post("/v1/chat/completions")
async def chat(request: Request):
    body = await request.json()
    response = await router.acompletion(model=MODEL, messages=body["messages"])
    return {"id": response.id, "object": "chat.completion", "created": int(time.time()), "model": MODEL,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": response.choices[0].message.content},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": response.usage.prompt_tokens, "completion_tokens": response.usage.completion_tokens,
                      "total_tokens": response.usage.total_tokens}}
