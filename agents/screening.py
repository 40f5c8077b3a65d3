"""Screens outside text before it reaches an LLM: flags prompt injection, redacts personal data, fences it as data.

Outside text is anything OpsGraph did not write itself: user chat messages, alert annotations,
log lines, Slack text. It is always data, never instructions. ``screen`` returns the redacted text
and the injection patterns found; callers send flagged text to the deterministic path instead of
the model, and wrap what they do send with ``fence`` so the model sees where data begins and ends.
"""

from __future__ import annotations

import re
import unicodedata

from pydantic import BaseModel, Field

from policies.redact import redact

MAX_CHARS = 4000
FENCE_OPEN, FENCE_CLOSE = "<<<UNTRUSTED_DATA", "UNTRUSTED_DATA>>>"

# Phrases that try to change who the model is or what it obeys, or smuggle in chat-template markup.
INJECTION_PATTERNS: dict[str, re.Pattern[str]] = {
    "override": re.compile(r"\b(ignore|disregard|forget|override|bypass)\b.{0,40}\b(previous|prior|above|earlier|all|"
                           r"system|your)\b.{0,20}\b(instructions?|rules?|prompts?|guidelines|polic(y|ies))", re.I | re.S),
    "role_change": re.compile(r"\b(you are now|from now on,? you|act as|pretend (to be|you are)|roleplay as|"
                              r"new persona|developer mode|jailbreak|DAN mode)\b", re.I),
    "prompt_leak": re.compile(r"\b(reveal|print|show|repeat|leak)\b.{0,30}\b(system prompt|hidden prompt|"
                              r"instructions|api[ _-]?key|secret|token)\b", re.I | re.S),
    "template_markup": re.compile(r"<\|(im_start|im_end|system|assistant|user|endoftext)\|>|\[/?INST\]|"
                                  r"^\s*#{2,}\s*(system|instruction)s?\b|</?system>", re.I | re.M),
    "tool_forcing": re.compile(r"\b(call|invoke|execute|run)\b.{0,30}\b(tool|function|rollback_model|retrain_model|"
                               r"scale_up|scale_down|shift_traffic|restart_pipeline)\b.{0,40}\b(now|immediately|"
                               r"without (approval|asking))", re.I | re.S),
    "approval_forging": re.compile(r"\b(auto[- ]?approve|approve (it|this|all|everything) (yourself|automatically)|"
                                   r"skip (the )?(approval|policy|compliance))\b", re.I),
}


class Screened(BaseModel):
    """Screened text: personal data redacted, length capped, injection patterns named."""

    text: str
    injection: list[str] = Field(default_factory=list)
    redacted: bool = False
    truncated: bool = False

    @property
    def safe(self) -> bool:
        """True when no injection pattern matched."""
        return not self.injection


def _normalise(text: str) -> str:
    """NFKC, control characters (except newline and tab) and zero-width characters removed."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf"))


def screen(text: str, *, max_chars: int = MAX_CHARS) -> Screened:
    """Screen one piece of outside text."""
    cleaned = _normalise(text or "")
    truncated = len(cleaned) > max_chars
    cleaned = cleaned[:max_chars]
    found = [name for name, pattern in INJECTION_PATTERNS.items() if pattern.search(cleaned)]
    redacted = redact(cleaned)
    return Screened(text=redacted, injection=found, redacted=redacted != cleaned, truncated=truncated)


def fence(text: str) -> str:
    """Wrap screened text in data markers (markers inside it are defused)."""
    inner = text.replace(FENCE_OPEN, "<<<").replace(FENCE_CLOSE, ">>>")
    return f"{FENCE_OPEN}\n{inner}\n{FENCE_CLOSE}"
