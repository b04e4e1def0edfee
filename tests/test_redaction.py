"""The API key never survives into text: ``Redactor``, ``clean_text`` (sanitise, then redact) and the log filter.

What the groups prove: every form of the key (raw, HTTP Basic, base64 with and without padding) is replaced in any
letter case and when whitespace or hidden characters split it; sanitising runs first, so a key broken by zero-width
characters is caught; a property test (hypothesis) hides the key in random ways and checks that no trace of it is
left; the log filter applies the same rule.
"""

from __future__ import annotations

import base64
import logging
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civis_mcp.api.redaction import REDACTED, RedactingFilter, Redactor
from civis_mcp.untrusted import clean_json, clean_text

KEY = "sEcReT-kEy-0123456789abcdef"
BASIC = base64.b64encode(f"{KEY}:".encode()).decode()
RAW64 = base64.b64encode(KEY.encode()).decode()
redact = Redactor(KEY)


def _no_trace(text: str) -> bool:
    """No form of the key in ``text``, ignoring case and every whitespace character."""
    squeezed = re.sub(r"\s+", "", text).lower()
    return all(form.lower().rstrip("=") not in squeezed for form in (KEY, BASIC, RAW64))


@pytest.mark.parametrize(
    "leak",
    [
        KEY,
        KEY.upper(),
        KEY.lower(),
        BASIC,
        BASIC.rstrip("="),
        RAW64,
        " ".join(KEY),  # every character apart
        KEY[:8] + "\n" + KEY[8:],  # a wrapped line
        KEY[:5] + "\t " + KEY[5:].upper(),
        BASIC[:20] + "\r\n" + BASIC[20:],  # base64 wrapped as MIME does
    ],
)
def test_every_form_of_the_key_is_redacted(leak: str) -> None:
    text = redact(f"before {leak} after")
    assert text == f"before {REDACTED} after"
    assert redact(f"Authorization: Basic {leak}") == f"Authorization: Basic {REDACTED}"


@pytest.mark.parametrize("hider", ["\u200b", "\u200d", "\u2060", "\ufeff", "\u00ad", "\ufe0f", "\U000e0041", "\x1b[0m"])
def test_a_key_split_by_hidden_characters_is_caught_because_sanitising_comes_first(hider: str) -> None:
    split = hider.join(KEY)
    assert redact(split) == split  # the redactor alone cannot see it...
    assert clean_text(f"key: {split}!", redact) == f"key: {REDACTED}!"  # ...sanitised first, it can
    assert clean_json({"name": split, split: 1}, also=redact) == {"name": REDACTED, REDACTED: 1}


def test_ordinary_text_and_short_secrets_are_left_alone() -> None:
    assert redact("nothing secret here, not even sEcReT-kEy") == "nothing secret here, not even sEcReT-kEy"
    assert Redactor(None)("anything") == "anything"
    assert Redactor("abc")("abc abc") == "abc abc"  # too short to tell from ordinary words


@st.composite
def hidden_keys(draw: st.DrawFn) -> str:
    form = draw(st.sampled_from([KEY, BASIC, RAW64.rstrip("=")]))
    pieces = []
    for char in form:
        pieces.append(char.upper() if draw(st.booleans()) else char)
        pieces.append(draw(st.sampled_from(["", "", " ", "\n", "\u200b", "\u2066", "\ufe0f", "\x1b[1m", "&#x200B;"])))
    return draw(st.text(max_size=10)) + "".join(pieces) + draw(st.text(max_size=10))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hidden_keys())
def test_no_trace_of_the_key_survives_however_it_is_hidden(text: str) -> None:
    cleaned = clean_text(text, redact)
    assert _no_trace(cleaned), cleaned
    assert clean_text(cleaned, redact) == cleaned  # a fixed point, as sanitising alone is


def test_the_log_filter_sanitises_then_redacts(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("civis_mcp.test_redaction")
    log_filter = RedactingFilter(redact)
    logger.addFilter(log_filter)
    try:
        with caplog.at_level(logging.INFO, logger=logger.name):
            logger.info("upstream said %s about %s", "\u200b".join(KEY.upper()), "\x1b[31mred\x1b[0m")
    finally:
        logger.removeFilter(log_filter)
    assert caplog.messages == [f"upstream said {REDACTED} about red"]
