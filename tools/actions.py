"""Actions on a platform: the planned-action type an approval binds to, its result, and the Platform seam."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, computed_field


class TransientPlatformError(RuntimeError):
    """A platform call failed in a way worth retrying (timeout, conflict, 503)."""


class PlatformError(RuntimeError):
    """A platform call failed for good (unknown service, invalid parameters)."""


def params_hash(name: str, service: str, params: dict[str, Any]) -> str:
    """SHA-256 of the action's name, target and canonical JSON parameters."""
    canonical = json.dumps({"name": name, "service": service, "params": params}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class PlannedAction(BaseModel):
    """One action of a remediation plan; approvals bind to ``action_id`` and ``params_hash``."""

    model_config = ConfigDict(frozen=True)

    action_id: str = Field(default_factory=lambda: f"act-{uuid.uuid4().hex[:10]}")
    name: str
    service: str
    params: dict[str, Any] = Field(default_factory=dict)
    rationale: str = ""
    expected_effect: str = ""
    hypothesis_id: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def params_hash(self) -> str:
        """Hash binding an approval to exactly these parameters."""
        return params_hash(self.name, self.service, self.params)


class ActionResult(BaseModel):
    """What executing (or undoing) an action did to the platform."""

    action_id: str
    name: str
    service: str
    ok: bool
    detail: str = ""
    before: dict[str, Any] = Field(default_factory=dict)
    after: dict[str, Any] = Field(default_factory=dict)
    tool_call_id: str = Field(default_factory=lambda: f"tc-action-{uuid.uuid4().hex[:10]}")


@runtime_checkable
class Platform(Protocol):
    """Where actions take effect: the simulator, Kubernetes, MLflow, a pipeline scheduler."""

    def supported_actions(self) -> list[str]:
        """Names of the actions this platform can execute."""
        ...

    def execute(self, action: PlannedAction) -> ActionResult:
        """Carry out the action; idempotent per ``action_id``; may raise TransientPlatformError."""
        ...

    def undo(self, action: PlannedAction) -> ActionResult:
        """Reverse an executed action; may raise TransientPlatformError."""
        ...
