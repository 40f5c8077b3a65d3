"""The approval channels a process posts to: a structured log line always, Slack when configured."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from agents.deps import ApprovalChannel
from memory.store import Store
from policies.roles import RoleBook

log = logging.getLogger("opsgraph.approvals")


class OutcomeNotifier(Protocol):
    """Told by the loop when an incident it resumed has closed (resolved or escalated)."""

    def incident_closed(self, incident_id: str) -> Any:
        """Report the final outcome; must not raise on delivery failure."""
        ...


class LogChannel:
    """Announces each approval request in the structured log (the API, chat and dashboard read the store)."""

    name = "log"

    def post(self, request: dict[str, Any]) -> None:
        action = request.get("action", {})
        log.info("approval.requested", extra={"approval_id": request.get("approval_id"),
                                              "incident_id": request.get("incident_id"),
                                              "action": action.get("name"), "service": action.get("service"),
                                              "params": action.get("params"), "rule_id": request.get("rule_id"),
                                              "expires_at": request.get("expires_at")})


def slack_from_env(store: Store, *, rolebook: Callable[[], RoleBook], home: Path) -> Any:
    """The Slack integration when OPSGRAPH_SLACK_* is set, else None."""
    from opsgraph.integrations.slack import SlackConfig, SlackIntegration

    config = SlackConfig.from_env()
    if config is None:
        return None
    return SlackIntegration(config, store, rolebook=rolebook, home=home)


def approval_channels(*, slack: Any = None) -> list[ApprovalChannel]:
    """Where this process announces approval requests."""
    channels: list[ApprovalChannel] = [LogChannel()]
    if slack is not None:
        channels.append(slack.channel)
    return channels


def outcome_notifiers(*, slack: Any = None) -> list[OutcomeNotifier]:
    """Who hears about incidents the loop closed after a decision (Slack updates the request's message)."""
    return [slack] if slack is not None else []
