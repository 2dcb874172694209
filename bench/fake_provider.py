"""An asyncio OpenAI-compatible chat server: fixed latency, optional streaming, thousands of keep-alive clients.

`python -m bench.fake_provider --port 0 --latency 2 [--tokens 20] [--chunk-interval 0.01]` prints
`listening on <port>` and serves `POST /v1/chat/completions` until killed. A reply waits
`latency` seconds, then answers `tokens` completion tokens: one JSON object, or with
`"stream": true` one SSE chunk per token `chunk-interval` apart, a usage chunk, `[DONE]`.
`GET /stats` answers `{"requests", "in_flight", "max_in_flight", "arrivals"}` (arrivals: one
`[unix time, status]` per chat request). `POST /control` with `{"throttle": n, "retry_after": s}`
makes the next n chat requests answer 429 with `Retry-After: s`, as a provider over its quota does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

PROMPT_TOKENS = 7


class Provider:
    def __init__(self, latency: float, tokens: int, chunk_interval: float) -> None:
        self.latency, self.tokens, self.chunk_interval = latency, tokens, chunk_interval
        self.requests = self.in_flight = self.max_in_flight = 0
        self.arrivals: list[tuple[float, int]] = []
        self.throttle, self.retry_after = 0, "1"

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # keep-alive: one connection, many requests
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines if h)}
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                method, path, _ = request_line.split(" ", 2)
                if method == "GET" and path == "/stats":
                    stats = {
                        "requests": self.requests,
                        "in_flight": self.in_flight,
                        "max_in_flight": self.max_in_flight,
                        "arrivals": self.arrivals,
                    }
                    await self._json(writer, 200, stats)
                elif method == "POST" and path == "/control":
                    control = json.loads(body or b"{}")
                    self.throttle = int(control.get("throttle", 0))
                    self.retry_after = str(control.get("retry_after", 1))
                    await self._json(writer, 200, {"throttle": self.throttle, "retry_after": self.retry_after})
                elif method == "POST" and path.endswith("/chat/completions"):
                    await self._chat(writer, json.loads(body or b"{}"))
                else:
                    await self._json(writer, 404, {"error": {"message": f"no route {method} {path}"}})
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _chat(self, writer: asyncio.StreamWriter, body: dict) -> None:
        if self.throttle > 0:
            self.throttle -= 1
            self.arrivals.append((time.time(), 429))
            error = {"error": {"message": "rate limit reached", "type": "requests"}}
            await self._json(writer, 429, error, {"Retry-After": self.retry_after})
            return
        self.arrivals.append((time.time(), 200))
        self.requests += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.latency)
            model = body.get("model", "fake")
            limit = body.get("max_tokens")
            tokens = min(self.tokens, int(limit)) if limit else self.tokens
            usage = {
                "prompt_tokens": PROMPT_TOKENS,
                "completion_tokens": tokens,
                "total_tokens": PROMPT_TOKENS + tokens,
            }
            if body.get("stream"):
                await self._stream(writer, model, tokens, usage)
            else:
                message = {"role": "assistant", "content": " ".join(["tok"] * tokens)}
                reply = {"model": model, "choices": [{"index": 0, "message": message}], "usage": usage}
                await self._json(writer, 200, reply)
        finally:
            self.in_flight -= 1

    async def _stream(self, writer: asyncio.StreamWriter, model: str, tokens: int, usage: dict) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: keep-alive\r\n\r\n"
        )
        for n in range(tokens):
            delta = {"model": model, "choices": [{"index": 0, "delta": {"content": "tok" if n == 0 else " tok"}}]}
            await self._event(writer, json.dumps(delta))
            if self.chunk_interval:
                await asyncio.sleep(self.chunk_interval)
        await self._event(writer, json.dumps({"model": model, "choices": [], "usage": usage}))
        await self._event(writer, "[DONE]")
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    @staticmethod
    async def _event(writer: asyncio.StreamWriter, data: str) -> None:
        payload = f"data: {data}\n\n".encode()
        writer.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
        await writer.drain()

    @staticmethod
    async def _json(writer: asyncio.StreamWriter, status: int, obj: dict, headers: dict | None = None) -> None:
        data = json.dumps(obj).encode()
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
            f"{extra}Connection: keep-alive\r\n\r\n".encode()
            + data
        )
        await writer.drain()


async def _main(args: argparse.Namespace) -> None:
    provider = Provider(args.latency, args.tokens, args.chunk_interval)
    server = await asyncio.start_server(provider.serve, "127.0.0.1", args.port, backlog=4096, limit=1 << 20)
    print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fake_provider", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=2.0, help="seconds before a reply starts")
    parser.add_argument("--tokens", type=int, default=20, help="completion tokens per reply")
    parser.add_argument("--chunk-interval", type=float, default=0.01, help="seconds between streamed tokens")
    try:
        asyncio.run(_main(parser.parse_args(argv)))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
