"""A fake OpenAI-compatible upstream on 127.0.0.1 that can be told, per model, to answer, fail, stall, return malformed
JSON or drop the connection. It answers as a real chat model does: with a tool call when it is offered tools and the
conversation does not end in a tool result, a grade when asked as CrossRoute's judge asks, with `n` choices,
log-probabilities when asked, a system fingerprint and usage with cached and reasoning tokens, plain or streamed (tool-call arguments arrive over several chunks). Every call
it receives is recorded (model, stream, messages and the whole body)."""
from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROMPT_TOKENS, COMPLETION_TOKENS = 40, 60  # the usage every answer reports, so measured costs are predictable
CACHED_TOKENS, REASONING_TOKENS = 8, 12
FINGERPRINT = "fp_fake_upstream"
# refuse: answers with a refusal; invalid: refuses the request itself with a 400; slow: streams a chunk every 0.3 s
MODES = ("ok", "fail", "stall", "malformed", "drop", "refuse", "invalid", "slow")


class FakeUpstream:
    def __init__(self):
        self.modes: dict[str, str] = {}
        self.calls: list[dict] = []
        self.lock = threading.Lock()
        self.stall_seconds = 30.0
        self.delay = 0.0  # seconds before every answer (the load benchmark's fixed upstream latency)
        self.record = True  # False: keep no call list (a long benchmark run)

    def set(self, model: str, mode: str) -> None:
        assert mode in MODES, mode
        self.modes[model] = mode

    def calls_to(self, model: str) -> int:
        with self.lock:
            return sum(1 for c in self.calls if c["model"] == model)

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
        self.modes.clear()


def usage() -> dict:
    return {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
            "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
            "prompt_tokens_details": {"cached_tokens": CACHED_TOKENS},
            "completion_tokens_details": {"reasoning_tokens": REASONING_TOKENS}}


def answer(model: str, body: dict, index: int) -> tuple[dict, str]:
    """(message, finish reason) of choice `index`: a tool call when tools are offered and the last message is not a
    tool result, else text (naming the tool result when there is one)."""
    messages = body.get("messages") or []
    tools = body.get("tools") or []
    last = messages[-1] if messages else {}
    if tools and last.get("role") != "tool":
        function = tools[0].get("function", {})
        arguments = json.dumps({name: "Paris" for name in (function.get("parameters", {}).get("properties") or {"q": {}})})
        call = {"id": f"call_{model}_{index}", "type": "function",
                "function": {"name": function.get("name", "tool"), "arguments": arguments}}
        return {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
    if messages and messages[0].get("role") == "system" and "Score: N" in str(messages[0].get("content")):
        return {"role": "assistant", "content": "Score: 8"}, "stop"  # asked to grade, as CrossRoute's judge asks
    text = f"answer from {model}" if index == 0 else f"answer {index + 1} from {model}"
    if last.get("role") == "tool":
        text += f" using the tool result: {last.get('content')}"
    return {"role": "assistant", "content": text}, "stop"


def response_output(model: str, body: dict) -> tuple[list[dict], str]:
    """The Responses API's output items: a function call when tools are offered and the input does not end in a
    function call's output, else a message (naming that output when there is one); and the text."""
    items = body.get("input") if isinstance(body.get("input"), list) else []
    last = items[-1] if items else {}
    tools = body.get("tools") or []
    if tools and last.get("type") != "function_call_output":
        name = tools[0].get("name") or (tools[0].get("function") or {}).get("name") or "tool"
        return [{"type": "function_call", "id": f"fc_{model}", "call_id": f"call_{model}", "name": name,
                 "arguments": json.dumps({"city": "Paris"}), "status": "completed"}], ""
    text = f"answer from {model}"
    if last.get("type") == "function_call_output":
        text += f" using the tool result: {last.get('output')}"
    return [{"type": "message", "id": f"msg_{model}", "status": "completed", "role": "assistant",
             "content": [{"type": "output_text", "text": text, "annotations": []}]}], text


def responses_usage() -> dict:
    return {"input_tokens": PROMPT_TOKENS, "output_tokens": COMPLETION_TOKENS, "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
            "input_tokens_details": {"cached_tokens": CACHED_TOKENS}, "output_tokens_details": {"reasoning_tokens": REASONING_TOKENS}}


def response_object(model: str, body: dict, output: list[dict], status: str = "completed") -> dict:
    return {"id": f"resp_{model}_{int(time.time() * 1e6)}", "object": "response", "created_at": int(time.time()),
            "status": status, "model": model, "output": output, "usage": responses_usage() if status == "completed" else None,
            "parallel_tool_calls": True, "tool_choice": "auto", "tools": body.get("tools") or [], "text": {"format": {"type": "text"}},
            "instructions": body.get("instructions"), "previous_response_id": body.get("previous_response_id"),
            "error": None, "incomplete_details": None, "metadata": {}, "temperature": 1.0, "top_p": 1.0}


def logprobs_of(text: str) -> dict:
    return {"content": [{"token": word, "logprob": -0.5, "bytes": list(word.encode()), "top_logprobs": []}
                        for word in (text or "").split()]}


def _handler(fake: FakeUpstream):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
            model = body.get("model", "")
            if fake.record:
                with fake.lock:
                    fake.calls.append({"model": model, "stream": bool(body.get("stream")), "messages": body.get("messages"),
                                       "body": body})
            mode = fake.modes.get(model, "ok")
            if mode == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if mode == "stall":
                time.sleep(fake.stall_seconds)
                return
            if mode == "fail":
                self._send(500, json.dumps({"error": {"message": "upstream exploded", "type": "server_error"}}).encode())
                return
            if mode == "malformed":
                self._send(200, b'{"id": "x", "choices": [')
                return
            if mode == "invalid":
                self._send(400, json.dumps({"error": {"message": "Invalid value for 'temperature'.", "param": "temperature",
                                                      "type": "invalid_request_error"}}).encode())
                return
            if fake.delay:
                time.sleep(fake.delay)
            if self.path.rstrip("/").endswith("/responses"):
                self._responses(model, body)
                return
            n = int(body.get("n") or 1)
            if body.get("stream"):
                self._stream(model, body, (body.get("stream_options") or {}).get("include_usage", False))
                return
            choices = []
            for index in range(n):
                message, finish = answer(model, body, index)
                if mode == "refuse":
                    message, finish = {"role": "assistant", "content": None, "refusal": "I can't help with that."}, "stop"
                choice = {"index": index, "message": message, "finish_reason": finish}
                if body.get("logprobs"):
                    choice["logprobs"] = logprobs_of(message.get("content"))
                choices.append(choice)
            self._send(200, json.dumps({
                "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
                "system_fingerprint": FINGERPRINT, "choices": choices, "usage": usage()}).encode())

        def _responses(self, model: str, body: dict) -> None:
            output, text = response_output(model, body)
            final = response_object(model, body, output)
            if not body.get("stream"):
                self._send(200, json.dumps(final).encode())
                return
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("connection", "close")
            self.end_headers()
            events = [("response.created", {"response": {**final, "status": "in_progress", "output": [], "usage": None}})]
            for index, item in enumerate(output):
                events.append(("response.output_item.added", {"output_index": index, "item": {**item, "status": "in_progress",
                                                                                              **({"content": []} if item["type"] == "message" else {})}}))
                if item["type"] == "message":
                    for word in text.split():
                        events.append(("response.output_text.delta", {"item_id": item["id"], "output_index": index,
                                                                      "content_index": 0, "delta": word + " ", "logprobs": []}))
                    events.append(("response.output_text.done", {"item_id": item["id"], "output_index": index,
                                                                 "content_index": 0, "text": text, "logprobs": []}))
                events.append(("response.output_item.done", {"output_index": index, "item": item}))
            events.append(("response.completed", {"response": final}))
            for number, (kind, event) in enumerate(events):
                event = {"type": kind, "sequence_number": number, **event}
                self.wfile.write(f"event: {kind}\ndata: {json.dumps(event)}\n\n".encode())
            self.wfile.flush()
            self.close_connection = True

        def _send(self, status: int, payload: bytes) -> None:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _stream(self, model: str, body: dict, include_usage: bool) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("connection", "close")
            self.end_headers()
            base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                    "system_fingerprint": FINGERPRINT}
            message, finish = answer(model, body, 0)
            events = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
            if message.get("tool_calls"):
                call = message["tool_calls"][0]
                arguments = call["function"]["arguments"]
                half = len(arguments) // 2
                events.append({**base, "choices": [{"index": 0, "delta": {"tool_calls": [
                    {"index": 0, "id": call["id"], "type": "function",
                     "function": {"name": call["function"]["name"], "arguments": arguments[:half]}}]}}]})
                events.append({**base, "choices": [{"index": 0, "delta": {"tool_calls": [
                    {"index": 0, "function": {"arguments": arguments[half:]}}]}}]})
            else:
                events += [{**base, "choices": [{"index": 0, "delta": {"content": word + " "}}]}
                           for word in message["content"].split()]
            events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
            if include_usage:
                events.append({**base, "choices": [], "usage": usage()})
            slow = fake.modes.get(model) == "slow"
            for event in events * (20 if slow else 1):
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                if slow:
                    self.wfile.flush()
                    time.sleep(0.3)
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

    return Handler


@contextmanager
def fake_upstream():
    """Yield (base_url, FakeUpstream) for a server on 127.0.0.1 at a free port; stopped on exit."""
    fake = FakeUpstream()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.request_queue_size = 256  # the load benchmark opens many connections at once
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", fake
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":  # a stand-alone fake for the load benchmark: python tests/fake_upstream.py PORT DELAY
    import sys

    fake = FakeUpstream()
    fake.delay, fake.record = float(sys.argv[2]), False
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), _handler(fake))
    server.daemon_threads, server.request_queue_size = True, 256
    server.serve_forever()
