"""Mail: the digest as a MIME message, and SMTP delivery (plain, STARTTLS or implicit TLS).

Message layout (what mail clients expect for HTML with an inline image)::

    multipart/alternative
      text/plain                      the text digest
      multipart/related
        text/html                     references the chart as cid:...
        image/png  (Content-ID)       the chart

``NEWSMON_SMTP_URL``: ``smtp://``, ``smtp+starttls://`` or ``smtps://[user:password@]host[:port]``;
user and password are URL-decoded (write ``@`` as ``%40``). Optional query parameters:
``cafile=PATH`` (trust this CA, e.g. a self-signed relay), ``verify=false`` (no certificate
check; only for a relay on a private network), ``timeout=SECONDS`` (default 30).
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import hashlib
import smtplib
import ssl
from dataclasses import dataclass, field
from email.header import Header
from email.message import EmailMessage
from typing import Callable
from urllib.parse import parse_qs, unquote, urlsplit

from pipeline.infra.config import ConfigError, UserError, mask_url
from pipeline.digest.render import RenderedDigest

DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
DEFAULT_SENDER = "newsmon <newsmon@localhost>"
_FALSE = {"0", "false", "no", "off"}


class DigestSendError(UserError):
    """The SMTP server could not be used at all (unreachable, TLS or login failed)."""


@dataclass(frozen=True)
class SmtpTarget:
    scheme: str  # smtp | smtp+starttls | smtps
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: str | None = None
    verify: bool = True
    timeout: float = 30.0

    @property
    def tls(self) -> bool:
        return self.scheme != "smtp"

    def describe(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.cafile)
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def parse_smtp_url(url: str, name: str = "NEWSMON_SMTP_URL") -> SmtpTarget:
    """An ``SmtpTarget`` from the URL; a malformed one is a ConfigError naming the variable."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"{name}: malformed URL {mask_url(url)!r} ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ConfigError(f"{name}: expected smtp://, smtp+starttls:// or smtps://host[:port], got {mask_url(url)!r}")
    options = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = set(options) - {"cafile", "verify", "timeout"}
    if unknown:
        raise ConfigError(f"{name}: unknown option(s) {', '.join(sorted(unknown))} (known: cafile, verify, timeout)")
    try:
        timeout = float(options.get("timeout", 30))
    except ValueError:
        raise ConfigError(f"{name}: timeout must be a number of seconds") from None
    return SmtpTarget(
        scheme=scheme,
        host=parts.hostname,
        port=port or DEFAULT_PORTS[scheme],
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        cafile=options.get("cafile") or None,
        verify=options.get("verify", "true").strip().lower() not in _FALSE,
        timeout=timeout,
    )


# --------------------------------------------------------------------------- message


def address_of(mailbox: str) -> str:
    """The bare address of 'Name <a@b>' or 'a@b' (for the SMTP envelope)."""
    return email.utils.parseaddr(mailbox)[1] or mailbox.strip()


def message_id_for(day: dt.date, recipient: str, sender: str) -> str:
    """The same id for every attempt of one (day, recipient): a duplicate delivery after an
    ambiguous failure is recognisable as the same message."""
    domain = address_of(sender).rpartition("@")[2] or "localhost"
    token = hashlib.sha256(address_of(recipient).lower().encode("utf-8")).hexdigest()[:16]
    return f"<digest-{day.isoformat()}.{token}@{domain}>"


def list_id(sender: str, name: str = "digest") -> str:
    """``newsmon digest <digest.newsmon.DOMAIN>`` (RFC 2919): lets readers filter the list."""
    domain = address_of(sender).rpartition("@")[2] or "localhost"
    return f"newsmon {name} <{name}.newsmon.{domain}>"


def unsubscribe_headers(sender: str, reply_to: str | None, https_link: str | None) -> dict[str, str]:
    """List-Unsubscribe with a mailto (to Reply-To, else From) and, when configured, the signed https
    link; List-Unsubscribe-Post for one-click (RFC 8058) only with the https link."""
    mailto = f"<mailto:{address_of(reply_to or sender)}?subject=unsubscribe>"
    headers = {"List-Unsubscribe": f"{mailto}, <{https_link}>" if https_link else mailto}
    if https_link:
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers


def list_message(subject: str, *, sender: str, to: str, message_id: str, date: dt.datetime,
                 reply_to: str | None, unsubscribe_link: str | None, list_name: str) -> EmailMessage:
    """The headers of one mail of a newsmon list (digest or alerts), to one recipient."""
    if any(c in to for c in "\r\n\0"):
        raise ValueError("recipient with a line break refused")
    msg = EmailMessage(policy=email.policy.SMTP)
    if subject.isascii():
        msg["Subject"] = subject
    else:
        # email's own folder drops the space between two adjacent encoded words ("liefern –
        # Überblick" arrives as "liefern  –Überblick"); the legacy Header encoder does not.
        msg.set_raw("Subject", Header(subject, "utf-8", header_name="Subject").encode(linesep="\r\n"))
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = email.utils.format_datetime(date)
    msg["Message-ID"] = message_id
    msg["Reply-To"] = reply_to or sender
    msg["List-Id"] = list_id(sender, list_name)
    for name, value in unsubscribe_headers(sender, reply_to, unsubscribe_link).items():
        msg[name] = value
    msg["Auto-Submitted"] = "auto-generated"
    return msg


def build_message(rendered: RenderedDigest, *, sender: str, to: str, message_id: str,
                  date: dt.datetime, day: dt.date, reply_to: str | None = None,
                  unsubscribe_link: str | None = None) -> EmailMessage:
    msg = list_message(rendered.subject, sender=sender, to=to, message_id=message_id, date=date,
                       reply_to=reply_to, unsubscribe_link=unsubscribe_link, list_name="digest")
    msg["X-Newsmon-Digest-Day"] = day.isoformat()
    # quoted-printable keeps the message 7-bit clean for relays without 8BITMIME
    msg.set_content(rendered.text, charset="utf-8", cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    if rendered.chart_png and rendered.chart_cid:
        html_part = msg.get_payload()[1]
        html_part.add_related(rendered.chart_png, maintype="image", subtype="png",
                              cid=f"<{rendered.chart_cid}>", filename="chart.png", disposition="inline")
    return msg


# --------------------------------------------------------------------------- delivery


def open_smtp(target: SmtpTarget) -> smtplib.SMTP:
    """A connected, (TLS-secured,) logged-in client; any failure is a DigestSendError."""
    client: smtplib.SMTP | None = None
    try:
        if target.scheme == "smtps":
            client = smtplib.SMTP_SSL(target.host, target.port, timeout=target.timeout,
                                      context=target.ssl_context())
        else:
            client = smtplib.SMTP(target.host, target.port, timeout=target.timeout)
        client.ehlo()
        if target.scheme == "smtp+starttls":
            # never fall back to plain text: a server without STARTTLS is an error
            client.starttls(context=target.ssl_context())
            client.ehlo()
        if target.username:
            client.login(target.username, target.password or "")
        return client
    except (OSError, smtplib.SMTPException) as exc:
        if client is not None:
            _close(client)
        raise DigestSendError(f"SMTP server {target.describe()} not usable: {_reason(exc)}") from None


def _close(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
        return f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return f"{exc.smtp_code} {text}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@dataclass
class Delivery:
    sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # recipient -> reason
    unreachable: str | None = None  # set when the server could not be used at all


def deliver(target: SmtpTarget, sender: str, recipients: list[str],
            message_for: Callable[[str], EmailMessage],
            on_attempt: Callable[[str, EmailMessage], None],
            on_sent: Callable[[str], None],
            on_failed: Callable[[str, str], None]) -> Delivery:
    """Send one message per recipient over one connection (reconnecting once after a drop).

    A refused recipient is recorded and skipped; when the server cannot be used, every
    remaining recipient is recorded as failed and ``Delivery.unreachable`` says why.
    """
    outcome = Delivery()
    client: smtplib.SMTP | None = None
    try:
        for recipient in recipients:
            msg = message_for(recipient)
            on_attempt(recipient, msg)
            if client is None:
                try:
                    client = open_smtp(target)
                except DigestSendError as exc:
                    outcome.unreachable = str(exc)
                    for rest in recipients[recipients.index(recipient):]:
                        if rest != recipient:
                            on_attempt(rest, message_for(rest))
                        on_failed(rest, str(exc))
                        outcome.failed[rest] = str(exc)
                    break
            try:
                client.send_message(msg, from_addr=address_of(sender), to_addrs=[address_of(recipient)])
            except (OSError, smtplib.SMTPException) as exc:
                reason = _reason(exc)
                on_failed(recipient, reason)
                outcome.failed[recipient] = reason
                # (SMTPException subclasses OSError: a plain OSError is a network fault)
                if isinstance(exc, smtplib.SMTPServerDisconnected) or not isinstance(exc, smtplib.SMTPException):
                    _close(client)
                    client = None  # reconnect for the next recipient
                else:
                    try:
                        client.rset()
                    except (OSError, smtplib.SMTPException):
                        _close(client)
                        client = None
                continue
            on_sent(recipient)
            outcome.sent.append(recipient)
    finally:
        if client is not None:
            _close(client)
    return outcome
