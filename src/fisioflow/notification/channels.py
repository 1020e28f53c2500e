"""Delivery channels: email over SMTP (aiosmtplib), SMS and WhatsApp through an HTTP
provider, web push (pywebpush, VAPID). Each answers `Sent`, or raises `Permanent` (the
address or the message will never work: 4xx, invalid address) or `Transient` (retry).

At most once: `send(..., commit=...)` calls `commit` to record the message as sent at
the last moment before it leaves. For SMTP that is after the whole message body and before
the final "." that makes the server accept it, which is written right after the COMMIT (see
recorder.py): a worker killed before leaves a message the server discards (safe to send
again); killed after, the message is recorded as sent and on its way. When the database
fails the COMMIT instead (a crash), a message already let go raises `Delivered` and the
caller records it as sent once the database is back (recorder.confirm). HTTP providers get
the delivery key as `Idempotency-Key`, so a request repeated after a crash between the
provider's answer and our commit can be recognised.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email import charset
from email.header import Header
from email.message import Message as Mail
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from typing import Any, Protocol

import aiosmtplib
import httpx
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings
from email_validator import EmailNotValidError, validate_email
from pywebpush import WebPushException, webpush_async  # type: ignore[import-untyped]

from fisioflow.core.br import phone_e164
from fisioflow.notification.render import Message
from fisioflow.settings import Settings

# Records the message as sent and calls the given function (which makes the message
# leave) right after the COMMIT is written: see recorder.py.
Commit = Callable[[Callable[[], None]], Awaitable[None]]


class Permanent(Exception):
    """Never retry: goes straight to dead with this reason."""


class Transient(Exception):
    """Retry later with backoff; counts against the channel's circuit breaker."""


class Ambiguous(Exception):
    """The connection broke after the message was recorded as sent: it may or may not
    have arrived. At most once: it stays sent."""


class NotRecorded(Exception):
    """Recording the message as sent failed (the database went away or refused the
    COMMIT). `released`: the COMMIT had been written and the message let go already."""

    def __init__(self, reason: str, *, released: bool) -> None:
        super().__init__(reason)
        self.released = released


class Delivered(Exception):
    """The message left (or may have) but is not recorded as sent: it must be recorded
    before its lease runs out, or it would be sent again."""


@dataclass(frozen=True)
class Outgoing:
    recipient: str
    message: Message
    delivery_key: str
    urgent: bool = False


class Channel(Protocol):
    async def send(self, outgoing: Outgoing, *, commit: Commit) -> None: ...

    async def close(self) -> None: ...


def checked_recipient(channel: str, recipient: str) -> str:
    """The address in canonical form; Permanent when it can never be delivered to."""
    try:
        if channel == "email":
            return validate_email(recipient, check_deliverability=False).normalized
        if channel in ("sms", "whatsapp"):
            return phone_e164(recipient)
    except (EmailNotValidError, ValueError) as exc:
        kind = "email address" if channel == "email" else "phone number"
        raise Permanent(f"invalid {kind} {recipient!r}: {exc}") from exc
    return recipient


class EmailChannel:
    """One SMTP connection, reused for every message of a lane."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._smtp: aiosmtplib.SMTP | None = None

    async def _connection(self) -> aiosmtplib.SMTP:
        if self._smtp is not None and self._smtp.is_connected:
            return self._smtp
        s = self._settings
        smtp = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            timeout=s.smtp_timeout_s,
            start_tls=s.smtp_starttls,
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
        )
        try:
            await smtp.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise Transient(f"SMTP connect to {s.smtp_host}:{s.smtp_port} failed: {exc}") from exc
        self._smtp = smtp
        return smtp

    async def send(self, outgoing: Outgoing, *, commit: Commit) -> None:
        smtp = await self._connection()
        data = _email_bytes(self._settings, outgoing)
        try:
            await _expect(await smtp.mail(parseaddr(self._settings.email_sender)[1]), 250)
            await _expect(await smtp.rcpt(outgoing.recipient), 250, 251)
            await _expect(await smtp.execute_command(b"DATA"), 354)
            assert smtp.protocol is not None
            smtp.protocol.write(data)
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset(smtp)
            raise _classify_smtp(exc.code, exc.message) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            self._smtp = None
            raise Transient(f"SMTP: {exc}") from exc
        protocol = smtp.protocol
        assert protocol is not None

        def release() -> None:
            # The reply must not be dropped as unsolicited while the COMMIT's answer is
            # awaited: aiosmtplib reads only what a pending command expects.
            protocol._response_pending = True
            protocol.write(b".\r\n")

        try:
            await commit(release)
        except BaseException as exc:
            left = isinstance(exc, NotRecorded) and exc.released
            accepted = await self._accepted(protocol) if left else False
            # Mid-DATA, or the message's fate read: this connection cannot be reused.
            smtp.close()
            self._smtp = None
            if accepted is not False:
                raise Delivered(
                    f"SMTP accepted the message (or its answer was lost); {exc}"
                ) from exc
            raise
        try:
            reply = await protocol.read_response(timeout=self._settings.smtp_timeout_s)
        except (aiosmtplib.SMTPException, OSError) as exc:
            self._smtp = None
            raise Ambiguous(f"SMTP connection lost after the message: {exc}") from exc
        if reply.code != 250:
            raise _classify_smtp(reply.code, reply.message)

    async def _accepted(self, protocol: Any) -> bool | None:
        """After a release whose COMMIT failed: did the server take the message?
        None when its answer is lost too."""
        try:
            reply = await protocol.read_response(timeout=self._settings.smtp_timeout_s)
        except (aiosmtplib.SMTPException, OSError):
            return None
        return bool(reply.code == 250)

    async def _reset(self, smtp: aiosmtplib.SMTP) -> None:
        try:
            await smtp.rset()
        except (aiosmtplib.SMTPException, OSError):
            self._smtp = None

    async def close(self) -> None:
        if self._smtp is not None and self._smtp.is_connected:
            try:
                await self._smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                self._smtp.close()
        self._smtp = None


async def _expect(reply: Any, *codes: int) -> None:
    if reply.code not in codes:
        raise aiosmtplib.SMTPResponseException(reply.code, reply.message)


def _classify_smtp(code: int, message: str) -> Exception:
    text = f"SMTP {code}: {message}"
    return Permanent(text) if 500 <= code < 600 else Transient(text)


# Quoted-printable: pt-BR text stays readable in the raw message.
_UTF8_QP = charset.Charset("utf-8")
_UTF8_QP.body_encoding = charset.QP


def _email_bytes(settings: Settings, outgoing: Outgoing) -> bytes:
    # The legacy (compat32) email API on purpose: EmailMessage re-parses every header it
    # is given and took ~3.8 ms a message, the largest cost of a reminder's delivery
    # (this takes ~0.4 ms).
    mail = Mail()
    mail.set_payload(outgoing.message.body, _UTF8_QP)
    name, address = parseaddr(settings.email_sender)
    mail["From"] = formataddr((name, address), charset="utf-8")
    mail["To"] = outgoing.recipient
    mail["Subject"] = Header(outgoing.message.subject, "utf-8").encode()
    mail["Date"] = formatdate()
    # The delivery key travels in the Message-ID: a receiver can tell a repeat.
    domain = address.rpartition("@")[2] or "fisioflow.invalid"
    mail["Message-ID"] = make_msgid(idstring=outgoing.delivery_key.replace(":", "."), domain=domain)
    mail["X-FisioFlow-Delivery"] = outgoing.delivery_key
    data = normalize_message_line_endings(mail.as_bytes())
    data = PERIOD_REGEX.sub(b"..", data)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


class ProviderChannel:
    """SMS/WhatsApp: POST {"channel", "to", "text", "delivery_key"} to the provider."""

    def __init__(self, settings: Settings, channel: str) -> None:
        if not settings.messaging_provider_url:
            raise Transient(
                "no SMS/WhatsApp provider configured (FISIOFLOW_MESSAGING_PROVIDER_URL)"
            )
        token = settings.messaging_provider_token
        headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}
        self._url = settings.messaging_provider_url
        self._channel = channel
        self._http = httpx.AsyncClient(headers=headers, timeout=settings.smtp_timeout_s)

    async def send(self, outgoing: Outgoing, *, commit: Commit) -> None:
        body = {
            "channel": self._channel,
            "to": outgoing.recipient,
            "text": outgoing.message.short,
            "delivery_key": outgoing.delivery_key,
        }
        try:
            response = await self._http.post(
                self._url, json=body, headers={"Idempotency-Key": outgoing.delivery_key}
            )
        except httpx.HTTPError as exc:
            raise Transient(f"provider unreachable: {exc!r}") from exc
        _classify_http(response.status_code, response.text)
        await _record_delivered(commit)

    async def close(self) -> None:
        await self._http.aclose()


def _classify_http(status: int, text: str) -> None:
    if 200 <= status < 300:
        return
    reason = f"provider answered {status}: {text[:200]}"
    if status in (408, 425, 429) or status >= 500:
        raise Transient(reason)
    raise Permanent(reason)


class PushChannel:
    """Web push to one subscription (recipient = JSON subscription info)."""

    def __init__(self, settings: Settings) -> None:
        if settings.vapid_private_key is None:
            raise Transient("web push is not configured (FISIOFLOW_VAPID_PRIVATE_KEY)")
        self._key = settings.vapid_private_key.get_secret_value()
        self._subject = settings.vapid_subject
        self._timeout = settings.smtp_timeout_s

    async def send(self, outgoing: Outgoing, *, commit: Commit) -> None:
        data = json.dumps({"title": outgoing.message.subject, "body": outgoing.message.short})
        try:
            await webpush_async(
                subscription_info=json.loads(outgoing.recipient),
                data=data,
                vapid_private_key=self._key,
                vapid_claims={"sub": self._subject},
                timeout=self._timeout,
                ttl=86400,
            )
        except WebPushException as exc:
            status = getattr(exc.response, "status", None) or getattr(
                exc.response, "status_code", 0
            )
            _classify_http(int(status or 503), str(exc))
        except (TimeoutError, OSError) as exc:
            raise Transient(f"push service unreachable: {exc!r}") from exc
        await _record_delivered(commit)

    async def close(self) -> None:
        return None


def _nothing() -> None:
    return None


async def _record_delivered(commit: Commit) -> None:
    """The provider has the message already: a failed record must still be made."""
    try:
        await commit(_nothing)
    except NotRecorded as exc:
        raise Delivered(f"the provider accepted the message; {exc}") from exc


def open_channel(settings: Settings, channel: str) -> Channel:
    if channel == "email":
        return EmailChannel(settings)
    if channel == "push":
        return PushChannel(settings)
    return ProviderChannel(settings, channel)
