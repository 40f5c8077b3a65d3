"""An OpenAI-compatible chat-completions stub: scripted completions, tool calls, garbage, delays and 500s."""

from __future__ import annotations

import json
from typing import Any

from tests.stubs.http_stub import Reply


def completion(content: str | None = None, tool_calls: list[dict[str, Any]] | None = None) -> Reply:
    """A well-formed /v1/chat/completions reply."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return Reply({"id": "chatcmpl-stub", "object": "chat.completion", "created": 1_700_000_000, "model": "stub",
                  "choices": [{"index": 0, "finish_reason": "tool_calls" if tool_calls else "stop", "message": message}],
                  "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})


def tool_call(name: str, arguments: dict[str, Any] | str, call_id: str = "call_1") -> dict[str, Any]:
    """One tool call; ``arguments`` as a dict (encoded) or a raw string (to send garbage)."""
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": raw}}


def last_tool_output(request: Any) -> str:
    """The content of the last tool message the client sent (what the model would have read)."""
    messages = request.json["messages"]
    return next(m["content"] for m in reversed(messages) if m["role"] == "tool")
