"""Readers of the digest: who they are, what part they chose, and their unsubscribe link.

- ``normalise_address``: the one check of a reader's address (CR/LF and other control characters,
  display names and lists are refused: a header value must never carry a second header).
- ``Reader``: one recipient with their choices; ``resolve_readers`` merges the ``subscribers``
  table with the ``NEWSMON_DIGEST_TO`` fallback list (a subscriber row, even an unsubscribed one,
  wins over the fallback entry for the same address).
- Unsubscribe tokens: ``email`` and an expiry, signed with HMAC-SHA256 under
  ``NEWSMON_UNSUBSCRIBE_SECRET``; ``verify_token`` refuses a tampered or expired one.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import email.utils
import hashlib
import hmac
import re
from dataclasses import dataclass
from urllib.parse import quote

from pipeline.digest.model import DailySeries, DigestData, StoryItem
from pipeline.infra.config import UserError

LANGUAGES = ("de", "en", "both")
TOKEN_LIFETIME = dt.timedelta(days=90)  # a digest is found in an archive folder weeks later
_TOKEN_PURPOSE = b"newsmon-unsubscribe\n"
_ADDRESS = re.compile(r"^[^@\s<>,;\"()\[\]\\]+@[^@\s<>,;\"()\[\]\\]+\.[^@\s<>,;\"()\[\]\\]+$")


class AddressError(UserError):
    """A recipient address that cannot be used (control characters, not one address)."""


class TokenError(Exception):
    """An unsubscribe token that is malformed, tampered with or expired (the endpoint says 403)."""


def normalise_address(raw: str) -> str:
    """The bare, lower-cased address of ``raw`` ('Name <a@b.org>' or 'a@b.org'); AddressError otherwise."""
    if not isinstance(raw, str) or any(ord(c) < 32 or ord(c) == 127 for c in raw):
        raise AddressError(f"refused address {raw!r}: it contains a line break or control character")
    parsed = email.utils.getaddresses([raw.strip()])
    address = parsed[0][1].strip().lower() if len(parsed) == 1 else ""
    if not address or not _ADDRESS.match(address) or len(address) > 254:
        raise AddressError(f"refused address {raw.strip()!r}: not one email address")
    return address


@dataclass(frozen=True)
class Reader:
    """One recipient of the digest; ``mailbox`` is what goes into ``To:``."""

    address: str  # bare, lower-cased
    mailbox: str  # 'Name <address>' for a fallback entry with a name, else the address
    themes: tuple[str, ...] = ()  # empty: every theme of the digest
    language: str = "both"
    subscribed: bool = True  # False: a NEWSMON_DIGEST_TO fallback entry without a subscriber row

    @property
    def choice(self) -> tuple[tuple[str, ...], str]:
        return self.themes, self.language


def resolve_readers(subscribers, fallback: tuple[str, ...]) -> list[Reader]:
    """Active subscribers, then fallback addresses that have no subscriber row (one reader per address)."""
    readers: dict[str, Reader] = {}
    known = set()
    for sub in subscribers:
        known.add(sub.email)
        if sub.unsubscribed_at is None:
            readers[sub.email] = Reader(sub.email, sub.email, tuple(sub.themes), sub.language)
    for mailbox in fallback:
        address = normalise_address(mailbox)
        if address not in known and address not in readers:
            readers[address] = Reader(address, mailbox.strip(), subscribed=False)
    return list(readers.values())


# --------------------------------------------------------------------------- tokens


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), _TOKEN_PURPOSE + payload, hashlib.sha256).digest()


def make_token(secret: str, address: str, now: dt.datetime, lifetime: dt.timedelta = TOKEN_LIFETIME) -> str:
    expires = int((now + lifetime).timestamp())
    payload = f"{address}\n{expires}".encode("utf-8")
    return f"{_b64(payload)}.{_b64(_signature(secret, payload))}"


def verify_token(secret: str, token: str, now: dt.datetime) -> str:
    """The address the token was made for; TokenError when it is malformed, forged or expired."""
    try:
        payload_part, signature_part = token.strip().split(".")
        payload, signature = _unb64(payload_part), _unb64(signature_part)
    except (ValueError, binascii.Error, AttributeError):
        raise TokenError("malformed unsubscribe token") from None
    # only the canonical spelling: base64's spare bits must not make a second valid token
    canonical = _b64(payload) == payload_part and _b64(signature) == signature_part
    if not canonical or not hmac.compare_digest(signature, _signature(secret, payload)):
        raise TokenError("unsubscribe token does not match its signature")
    try:
        address, expires = payload.decode("utf-8").split("\n")
        expired = int(expires) < now.timestamp()
    except ValueError:
        raise TokenError("malformed unsubscribe token") from None
    if expired:
        raise TokenError("unsubscribe token has expired")
    return address


def unsubscribe_link(base_url: str | None, secret: str | None, address: str, now: dt.datetime) -> str | None:
    """``base_url?token=...`` for this reader, or None when the link is not configured."""
    if not base_url or not secret:
        return None
    return f"{base_url}{'&' if '?' in base_url else '?'}token={quote(make_token(secret, address, now))}"


# --------------------------------------------------------------------------- per-reader digest


def _story_in(story: StoryItem, language: str) -> StoryItem | None:
    """The story as a reader of one language sees it; None when it has nothing in that language."""
    if language == "both":
        return story
    if language not in story.languages:
        return None
    return dataclasses.replace(
        story,
        titles=tuple(t for t in story.titles if t.language == language) or story.titles[:1],
        headlines=tuple(h for h in story.headlines if h.language == language),
        sources=tuple(s for s in story.sources if s.language == language),
    )


def digest_for(data: DigestData, themes: tuple[str, ...], language: str) -> DigestData:
    """``data`` cut to a reader's themes (empty: all) and language; the counts table keeps every
    article (what the themes shown do not hold is one 'other' row), so the numbers still add up."""
    if not themes and language == "both":
        return data
    summaries = []
    for summary in data.themes:
        if themes and summary.theme not in themes:
            continue
        stories = tuple(s for s in (_story_in(s, language) for s in summary.stories) if s)
        summaries.append(dataclasses.replace(summary, stories=stories))
    return dataclasses.replace(data, themes=summaries)


def only_themes(data: DigestData, themes: tuple[str, ...]) -> DigestData:
    """``data`` with the theme sections and chart lines of ``themes`` only, in that order; the
    totals stay whole."""
    if tuple(s.theme for s in data.themes) == themes:
        return data
    summaries = {s.theme: s for s in data.themes}
    return dataclasses.replace(
        data, themes=[summaries[t] for t in themes],
        series=DailySeries(data.series.days, {t: data.series.counts[t] for t in themes}))
