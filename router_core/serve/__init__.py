"""CrossRoute in front of real traffic: an OpenAI-compatible router server, its upstream calls and its decision log.

FastAPI and LiteLLM are imported here only: `import router_core` stays free of them.
"""
import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM reads its bundled price map, never fetches one
