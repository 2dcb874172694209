"""A small OpenAI-compatible chat server on loopback.

No real model can be fetched on this machine, so the tests stand one in; it speaks the
same HTTP contract (POST /v1/chat/completions) that Ollama, vLLM and OpenAI serve.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeLLM:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.fail_with: int | None = None
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                if fake.fail_with:
                    self._send(fake.fail_with, {"error": {"message": "provider is sad"}})
                    return
                last = body["messages"][-1]["content"]
                self._send(
                    200,
                    {
                        "model": body["model"],
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": f"echo: {last}"}}],
                        "usage": {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12},
                    },
                )

            def _send(self, code: int, obj: dict) -> None:
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def close(self) -> None:
        self.server.shutdown()
