"""The one result type every tool call returns, and the errors tools raise on bad input."""

from __future__ import annotations

import math
import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ToolStatus(StrEnum):
    """Outcome of a tool call."""

    OK = "ok"
    INSUFFICIENT_DATA = "insufficient_data"
    ERROR = "error"


class ToolInputError(ValueError):
    """Raised when a tool is given input it cannot use (NaN where none is allowed, wrong shape, ...)."""


class ToolResult(BaseModel):
    """A tool call's identity, a summary of its inputs and the figures it produced.

    Findings, hypotheses, chat answers and postmortems cite ``tool_call_id``.
    """

    model_config = ConfigDict(frozen=True)

    tool_call_id: str
    tool: str
    status: ToolStatus = ToolStatus.OK
    inputs: dict[str, Any] = Field(default_factory=dict)
    figures: dict[str, Any] = Field(default_factory=dict)
    message: str = ""

    @property
    def ok(self) -> bool:
        """True when the tool produced figures that can be trusted."""
        return self.status == ToolStatus.OK

    def figure(self, name: str, default: Any = None) -> Any:
        """One figure by name."""
        return self.figures.get(name, default)

    def cite(self, name: str, fmt: str = "{:.4g}") -> str:
        """Render one figure with the id of the call that produced it, e.g. ``0.31 [tc-psi-1a2b]``."""
        value = self.figures.get(name)
        text = fmt.format(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
        return f"{text} [{self.tool_call_id}]"


def new_tool_call_id(tool: str) -> str:
    """A fresh, short, unique id for one call of ``tool``."""
    return f"tc-{tool}-{uuid.uuid4().hex[:10]}"


def _clean(value: Any) -> Any:
    """Make figures JSON-safe: numpy scalars to Python, non-finite floats to None."""
    if hasattr(value, "item") and not isinstance(value, (list, dict)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "tolist"):
        return _clean(value.tolist())
    return value


def tool_result(
    tool: str,
    *,
    inputs: dict[str, Any] | None = None,
    figures: dict[str, Any] | None = None,
    status: ToolStatus = ToolStatus.OK,
    message: str = "",
) -> ToolResult:
    """Build a ToolResult with a new call id and JSON-safe figures."""
    return ToolResult(
        tool_call_id=new_tool_call_id(tool),
        tool=tool,
        status=status,
        inputs=_clean(inputs or {}),
        figures=_clean(figures or {}),
        message=message,
    )


def insufficient(tool: str, message: str, *, inputs: dict[str, Any] | None = None) -> ToolResult:
    """A documented "not enough data to say" result."""
    return tool_result(tool, inputs=inputs, status=ToolStatus.INSUFFICIENT_DATA, message=message)
