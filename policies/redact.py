"""Redaction of personal data in text and payloads: emails, phones, cards, patient ids, IBANs → typed placeholders.

Checksums (Luhn for cards, mod-97 for IBANs) and separators required of phone numbers keep
ordinary numbers - latencies, counts, timestamps, versions, tool call ids - as they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

EMAIL, PHONE, CARD, PATIENT_ID, IBAN = "[EMAIL]", "[PHONE]", "[CARD]", "[PATIENT_ID]", "[IBAN]"


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum every payment card number satisfies."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def iban_ok(text: str) -> bool:
    """ISO 13616 mod-97 check of an IBAN (spaces allowed)."""
    compact = text.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


# (pattern, replacement for a match, or None to keep it); applied in order, so an IBAN is never
# half-eaten by the card pattern and a card never by the phone pattern.
_RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str | None]]] = [
    (re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
     lambda m: EMAIL),
    (re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"),
     lambda m: IBAN if iban_ok(m.group()) else None),
    (re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])"),
     lambda m: CARD if luhn_ok(_digits(m.group())) else None),
    (re.compile(r"\bMRN[-:# ]?\d{4,12}\b", re.IGNORECASE), lambda m: PATIENT_ID),
    (re.compile(r"\b(patient(?:[ _-]?(?:id|no|number))?)(\s*[:#=]?\s*)\d{4,12}\b", re.IGNORECASE),
     lambda m: f"{m.group(1)}{m.group(2)}{PATIENT_ID}"),
    (re.compile(r"(?<![\w+])\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}(?![\w])"),
     lambda m: PHONE if 8 <= len(_digits(m.group())) <= 15 else None),
    (re.compile(r"(?<![\w.-])(?:\(\d{3}\) ?\d{3}[ .-]\d{4}|\d{3}([.-])\d{3}\1\d{4})(?![\w.-])"),
     lambda m: PHONE),
]


def redact(text: str) -> str:
    """The text with personal data replaced by typed placeholders such as ``[EMAIL]``."""
    for pattern, replace in _RULES:
        text = pattern.sub(lambda m, replace=replace: replace(m) or m.group(), text)
    return text


def redact_obj(obj: Any) -> Any:
    """A copy of a JSON-like value (dicts, lists, pydantic models) with every string redacted; keys are kept."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, BaseModel):
        return redact_obj(obj.model_dump(mode="json"))
    if isinstance(obj, dict):
        return {key: redact_obj(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(redact_obj(value) for value in obj)
    return obj
