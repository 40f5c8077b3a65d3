"""A scripted HTTP server on 127.0.0.1 for tests: records every request, answers from a script or a handler."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Reply:
    """One scripted answer: a status, a JSON body (or raw bytes), and an optional delay."""

    body: Any = field(default_factory=dict)
    status: int = 200
    delay_s: float = 0.0


@dataclass
class Seen:
    """One request the stub received."""

    method: str
    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw or b"null")

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.raw.decode()).items()}


class Stub:
    """Requests seen, and the answers to give: a queue of replies, or a function of the request."""

    def __init__(self, answer: Callable[[Seen, "Stub"], Reply] | None = None) -> None:
        self.seen: list[Seen] = []
        self.script: list[Reply | Callable[[Seen], Reply]] = []
        self.answer = answer
        self.url = ""

    def next_reply(self, request: Seen) -> Reply:
        if self.script:
            item = self.script.pop(0)
            return item(request) if callable(item) else item
        if self.answer is not None:
            return self.answer(request, self)
        return Reply({"error": "script exhausted"}, status=500)


@contextmanager
def serve_stub(stub: Stub) -> Iterator[Stub]:
    """Serve ``stub`` on a free port of 127.0.0.1; ``stub.url`` is its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = Seen(self.command, self.path, dict(self.headers), self.rfile.read(length))
            stub.seen.append(request)
            reply = stub.next_reply(request)
            if reply.delay_s:
                time.sleep(reply.delay_s)
            payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                pass

        do_GET = do_POST = _handle

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
