"""Redaction of personal data, and no redaction of ordinary operational numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from policies.redact import iban_ok, luhn_ok, redact, redact_obj


@pytest.mark.parametrize(("text", "expected"), [
    ("mail jane.doe+ops@example.co.uk now", "mail [EMAIL] now"),
    ("card 4111 1111 1111 1111 declined", "card [CARD] declined"),
    ("card 4111-1111-1111-1111", "card [CARD]"),
    ("amex 378282246310005.", "amex [CARD]."),
    ("see MRN-123456 and mrn:0042137", "see [PATIENT_ID] and [PATIENT_ID]"),
    ("patient 123456 readmitted", "patient [PATIENT_ID] readmitted"),
    ("patient_id=998877", "patient_id=[PATIENT_ID]"),
    ("Patient ID: 4455667", "Patient ID: [PATIENT_ID]"),
    ("IBAN GB82 WEST 1234 5698 7654 32 ok", "IBAN [IBAN] ok"),
    ("to DE89370400440532013000.", "to [IBAN]."),
    ("call +1 312 555 0199 or +44 20 7946 0958", "call [PHONE] or [PHONE]"),
    ("call (312) 555-0199 / 312-555-0199 / 312.555.0199", "call [PHONE] / [PHONE] / [PHONE]"),
])
def test_personal_data_is_replaced_by_typed_placeholders(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "p95 312 ms, p99 1204 ms over 5 minutes",
    "latency 1234.56 ms; error rate 0.0312",
    "evidence tc-psi-1a2b3c4d5e and tc-scale-1234567890123456",
    "at 2025-06-04T10:00:00Z and 2025-06-04 10:00:00",
    "model v1.2.3 on 10.0.0.12:8080",
    "replicas 4 -> 12, queue 1500000 requests, seed 42",
    "card-like but invalid 4111 1111 1111 1112",
    "IBAN-like but invalid GB82 WEST 1234 5698 7654 33",
    "ratio +0.35 and delta +12 rps",
    "service fraud-v2 tier 1 has 3 of 8 replicas",
    "incident inc-20250604-001 opened",
])
def test_ordinary_numbers_are_kept(text):
    assert redact(text) == text


@given(st.integers(min_value=0, max_value=10**7), st.floats(min_value=0, max_value=1e5, allow_nan=False))
def test_metrics_lines_are_never_redacted(count, latency):
    line = f"p95 {latency:.1f} ms over {count} requests"
    assert redact(line) == line


def test_checksums():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("GB82 WEST 1234 5698 7654 32") and not iban_ok("GB82 WEST 1234 5698 7654 33")


class Note(BaseModel):
    author: str
    text: str


def test_redact_obj_walks_dicts_lists_and_models_and_keeps_keys():
    payload = {"user@example.com": "x", "notes": [Note(author="a@b.io", text="patient 123456")],
               "pair": ("ok", "+44 20 7946 0958"), "n": 312, "flag": True}
    assert redact_obj(payload) == {
        "user@example.com": "x", "notes": [{"author": "[EMAIL]", "text": "patient [PATIENT_ID]"}],
        "pair": ("ok", "[PHONE]"), "n": 312, "flag": True}
