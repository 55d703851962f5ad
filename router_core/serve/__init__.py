"""CrossRoute in front of real traffic: an OpenAI-compatible router server, its upstream calls and its decision log.

FastAPI and LiteLLM are imported here only: `import router_core` stays free of them.
"""
