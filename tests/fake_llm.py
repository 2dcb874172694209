"""OpenAI-compatible chat servers on loopback: a small threaded one, and bench's asyncio one as a process.

No real model can be fetched on this machine, so the tests stand one in; it speaks the
same HTTP contract (POST /v1/chat/completions) that Ollama, vLLM and OpenAI serve.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.processes import Proc, spawn
from tests.servers import wait_for


class FakeProvider:
    """bench/fake_provider.py in its own process: streaming, 429s on demand, a log of arrivals."""

    def __init__(self, log_dir: Path, latency: float = 0.1, tokens: int = 20) -> None:
        args = [sys.executable, "-m", "bench.fake_provider", "--port", "0", "--latency", str(latency)]
        self.proc: Proc = spawn("fake-provider", [*args, "--tokens", str(tokens)], dict(os.environ), log_dir / "p.log")
        line = wait_for(lambda: "listening on" in self.proc.tail(5) and self.proc.tail(5), 30, what="the provider")
        self.root = f"http://127.0.0.1:{int(line.split('listening on ')[1].split()[0])}"
        self.url = self.root + "/v1"

    def stats(self) -> dict:
        with urllib.request.urlopen(self.root + "/stats", timeout=10) as resp:
            return json.loads(resp.read())

    def throttle(self, count: int, retry_after: float) -> None:
        """The next `count` chat requests are answered 429 with Retry-After: `retry_after`."""
        body = json.dumps({"throttle": count, "retry_after": retry_after}).encode()
        urllib.request.urlopen(urllib.request.Request(self.root + "/control", data=body, method="POST"), timeout=10)

    def close(self) -> None:
        self.proc.stop()


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
