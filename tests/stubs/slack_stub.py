"""A Slack Web API stub (auth.test, chat.postMessage, chat.update, chat.postEphemeral) and request signing."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from tests.stubs.http_stub import Reply, Seen, Stub


def slack_answer(request: Seen, _stub: Stub) -> Reply:
    """Every Web API method answers ok, with a message timestamp."""
    return Reply({"ok": True, "ts": "1700000000.000100", "channel": "C0OPS", "user_id": "UBOT", "team_id": "T0"})


def calls(stub: Stub, method: str) -> list[dict[str, Any]]:
    """The arguments of every call of one Web API method (JSON or form encoded)."""
    out = []
    for seen in stub.seen:
        if seen.path.rstrip("/").endswith(method):
            try:
                out.append(seen.json)
            except ValueError:
                out.append({k: (json.loads(v) if k == "blocks" else v) for k, v in seen.form.items()})
    return out


def signed(secret: str, payload: dict[str, Any], *, timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    """An interaction request body and headers signed as Slack signs them."""
    body = urlencode({"payload": json.dumps(payload)})
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return body.encode(), {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature,
                           "Content-Type": "application/x-www-form-urlencoded"}


def click(user: str, action_id: str, value: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """A block_actions payload: ``user`` clicked a button of a posted message."""
    return {"type": "block_actions", "user": {"id": user, "name": user}, "team": {"id": "T0"},
            "api_app_id": "A0", "token": "legacy", "trigger_id": "1.2.3", "container": {"type": "message"},
            "channel": {"id": "C0OPS"}, "message": {"ts": "1700000000.000100", "blocks": blocks},
            "response_url": "http://127.0.0.1:9/unused",
            "actions": [{"type": "button", "action_id": action_id, "block_id": "opsgraph_decision", "value": value,
                         "action_ts": "1700000001.0"}]}
