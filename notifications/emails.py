"""Turning an outbox row into an email message: the builder registry, rendering, send batches.

Each kind has a context builder: a function that reads what the email talks
about (by the ids stored on the row) and returns template context. The app
that owns the kind's data registers it (`register_builder`) from its
`AppConfig.ready()`: `notifications.builders` for stock emails, `orders.emails`
for order emails. So this module imports nothing from inventory, orders or
shop: every app may use it. Templates live in
templates/notifications/email/<kind>.{subject.txt,txt,html} and extend one base
layout.

A send batch (`EmailBatch`) renders the emails of a wave once per group, not
once per recipient: the emails of one kind whose builder reads the same
context keys (a back-in-stock batch: one variant) differ only in the
recipient's address and unsubscribe link, so the templates are rendered once
with markers in their place and each email fills them in. Over plain SMTP the
group's MIME message is composed once too, and each email is that message
with its own headers and values (see `EmailBatch.smtp_payload`).

Files ride along through a second registry (`register_attachments`): the app
that owns them (invoices: the invoice PDF on the shipment email) registers a
function per kind, called where each message is built.
"""

import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from email.utils import formatdate
from typing import TypeVar
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import sanitize_address
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from .models import MARKETING_KINDS, Notification
from .tokens import make_unsubscribe_token

T = TypeVar("T")


class PermanentEmailError(Exception):
    """The email can never be built (missing template or object): failing it now beats retrying."""


def absolute_url(path: str) -> str:
    return settings.SHOP_BASE_URL.rstrip("/") + path


_shared: ContextVar[dict | None] = ContextVar("notifications_shared_lookups", default=None)


@contextmanager
def shared_lookups() -> Iterator[None]:
    """Within this block builders read each row once: the emails of a wave batch share their variant.

    Meant for one batch (seconds), so nothing read here can go stale.
    """
    token = _shared.set({})
    try:
        yield
    finally:
        _shared.reset(token)


def shared_lookup(key: tuple, load: Callable[[], T]) -> T:
    """`load()`, once per key within `shared_lookups()` (every time outside it).

    For builders: the emails of a send batch read the object they talk about
    once. A lookup that raises is not kept, so each email raises it again.
    """
    shared = _shared.get()
    if shared is not None and key in shared:
        return shared[key]
    value = load()
    if shared is not None:
        shared[key] = value
    return value


# kind -> context builder: a function that reads what the email talks about (by the ids stored on
# the row) and returns template context. Registered by the app that owns the kind's data, from its
# AppConfig.ready(): notifications.builders (stock emails), orders.emails (order emails).
CONTEXT_BUILDERS: dict[str, Callable[[dict], dict]] = {}

# kind -> the only context keys its builder reads. Emails of such a kind that agree on these keys
# are rendered once per send batch (`EmailBatch`); kinds not listed are rendered one by one.
SHARED_CONTEXT_KEYS: dict[str, tuple[str, ...]] = {}

# kind -> a function returning a sample context for the admin preview (None: no data to show yet).
SAMPLE_CONTEXTS: dict[str, Callable[[], dict | None]] = {}


def register_builder(
    kind: str,
    builder: Callable[[dict], dict],
    *,
    sample: Callable[[], dict | None] | None = None,
    shared_by: tuple[str, ...] | None = None,
) -> None:
    """Used once per kind by the app that owns the kind's data, from its AppConfig.ready().

    `sample` returns a context for the admin preview, built from real rows.
    `shared_by`: the only context keys the builder reads, if emails of this
    kind go out in batches that share them (see SHARED_CONTEXT_KEYS).
    """
    CONTEXT_BUILDERS[kind] = builder
    if sample is not None:
        SAMPLE_CONTEXTS[kind] = sample
    if shared_by is not None:
        SHARED_CONTEXT_KEYS[kind] = shared_by


# kind -> functions returning files to attach: fn(notification) -> [(filename, bytes, mimetype)].
# Registered by the app that owns the files, from its AppConfig.ready() (invoices.apps: the invoice
# PDF on the shipment email), so this module imports nothing of theirs. A function returns [] when it
# has nothing to attach; what it raises fails or retries the email like any rendering error.
ATTACHMENTS: dict[str, list[Callable[[Notification], list[tuple[str, bytes, str]]]]] = {}


def register_attachments(kind: str, fn: Callable[[Notification], list[tuple[str, bytes, str]]]) -> None:
    """Used by the app that owns what is attached, from its AppConfig.ready(); once per function."""
    functions = ATTACHMENTS.setdefault(kind, [])
    if fn not in functions:
        functions.append(fn)


def notification_attachments(notification: Notification) -> list[tuple[str, bytes, str]]:
    """The files every registered function gives this notification, in registration order."""
    return [item for fn in ATTACHMENTS.get(notification.kind, ()) for item in fn(notification)]


def unsubscribe_url(notification: Notification) -> str:
    token = make_unsubscribe_token(notification.recipient)
    return absolute_url(reverse("notifications:unsubscribe", kwargs={"token": token}))


def _unsubscribe_headers(url: str) -> dict:
    """RFC 2369 / RFC 8058 headers: one-click unsubscribe for marketing mail."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def _template_context(kind: str, recipient: str, built: dict, unsubscribe: str | None) -> dict:
    context = {
        "SHOP_NAME": settings.SHOP_NAME,
        "SHOP_CURRENCY": settings.SHOP_CURRENCY,
        "shop_url": absolute_url("/"),
        # Every email's footer says how to reach customer service (an empty setting is left out).
        "SHOP_CONTACT_EMAIL": settings.SHOP_CONTACT_EMAIL.strip(),
        "SHOP_CONTACT_PHONE": settings.SHOP_CONTACT_PHONE.strip(),
        "SHOP_ADDRESS": settings.SHOP_ADDRESS.strip(),
        "SHOP_SUPPORT_HOURS": settings.SHOP_SUPPORT_HOURS.strip(),
        "contact_url": absolute_url(reverse("shop:contact")),
        "recipient": recipient,
        "kind": kind,
        **built,
    }
    if unsubscribe is not None:
        context["unsubscribe_url"] = unsubscribe
    return context


# The three templates of a kind, in the order of the (subject, text, html) tuples below.
_TEMPLATE_SUFFIXES = ("subject.txt", "txt", "html")


def _render_template(kind: str, suffix: str, context: dict) -> str:
    try:
        return render_to_string(f"notifications/email/{kind}.{suffix}", context)
    except Exception as exc:  # TemplateDoesNotExist, a broken template: retrying will not help
        raise PermanentEmailError(f"cannot render {kind}: {exc!r}") from exc


def _subject_line(rendered: str) -> str:
    return " ".join(rendered.split())


def _builder(kind: str) -> Callable[[dict], dict]:
    builder = CONTEXT_BUILDERS.get(kind)
    if builder is None:
        raise PermanentEmailError(f"no email builder for kind {kind!r}")
    return builder


def notification_language(notification: Notification) -> str:
    """The language an email is written in: its row's (the customer's at the time), else the shop's."""
    return notification.language or settings.LANGUAGE_CODE


def render_notification(notification: Notification) -> tuple[str, str, str, dict]:
    """(subject, text, html, headers) for a notification, in its language (`notification_language`:
    the templates' words, the builder's dates and money, the links' /de/ prefix).

    A builder may return `reply_to`, an address: the email gets a Reply-To header with it (a
    customer's question reaches customer service with the customer's address to reply to).
    """
    with translation.override(notification_language(notification)):
        return _render_notification(notification)


def _render_notification(notification: Notification) -> tuple[str, str, str, dict]:
    built = _builder(notification.kind)(notification.context)
    headers, url = {}, None
    if notification.kind in MARKETING_KINDS:
        url = unsubscribe_url(notification)
        headers = _unsubscribe_headers(url)
    if built.get("reply_to"):
        headers["Reply-To"] = built["reply_to"]
    context = _template_context(notification.kind, notification.recipient, built, url)
    subject, text, html = (
        _render_template(notification.kind, suffix, context) for suffix in _TEMPLATE_SUFFIXES
    )
    return _subject_line(subject), text, html, headers


def stable_message_id(notification: Notification) -> str:
    domain = urlsplit(settings.SHOP_BASE_URL).hostname or "localhost"
    return f"<notification-{notification.pk}@{domain}>"


def _message(notification: Notification, subject: str, text: str, html: str, headers: dict):
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient],
        headers={
            "X-Notification-Id": str(notification.pk),
            # One Message-ID per outbox row, the same on every attempt: if a worker dies after the
            # SMTP server accepted a message but before the row was marked sent, the re-send
            # carries the same id, and mail systems treat it as the same message.
            "Message-ID": stable_message_id(notification),
            **headers,
        },
    )
    message.attach_alternative(html, "text/html")
    with translation.override(notification_language(notification)):  # a file may be rendered in it too
        files = notification_attachments(notification)
    for filename, content, mimetype in files:
        message.attach(filename, content, mimetype)
    return message


def build_message(notification: Notification) -> EmailMultiAlternatives:
    return _message(notification, *render_notification(notification))


# --- a send batch: render once per group, fill in per recipient --------------------------------

# What may be sent as-is in an SMTP envelope and a To header: an ASCII address of RFC 5322 atext
# characters. Anything else (a display name, non-ASCII, quoting) goes through Django's message
# building, which encodes it.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")


def plain_address(address: str) -> bool:
    """An address that SMTP commands and a To header carry unchanged (no name, quoting or non-ASCII)."""
    return _PLAIN_ADDRESS.fullmatch(address) is not None


# Values filled into a composed message: longer ones take the generic path (lines stay < 998).
_VALUE_LIMIT = 400
_LINE_LIMIT = 998  # RFC 5322 line length limit, without CRLF
# Probes that tell how each template prints a value (unescaped, or HTML-escaped) and show a
# template that does more with it: HTML-special characters, and lengths below and far above a
# marker's and any real address's, so a filter or a condition on the value renders differently.
_PROBES = (
    ("a'&@x.y", "h://a&'<>"),
    ("o'" + "x" * 250 + "&co@example.invalid", "https://probe.example.invalid/" + "u" * 250 + "/a&b'c<d>/"),
)
_FILLS = (str, escape)


@dataclass
class _Group:
    """One rendering shared by the emails of a group, with markers where the recipient's values go."""

    kind: str
    parts: tuple[str, str, str]  # subject (not yet on one line), text, html
    fills: tuple[Callable[[str], str], ...]  # per part: how a value is printed (str or escape)
    composed: tuple[bytes, bytes] | None | bool = False  # (head, body) once composed; None: cannot be


class EmailBatch:
    """Renders (and over SMTP composes) the emails of one send batch.

    Emails of a kind in SHARED_CONTEXT_KEYS that agree on those keys form a
    group: the builder runs and the templates render once per group, with a
    marker for the recipient's address and for the unsubscribe link in each
    part; each email replaces them with its own values, printed the way the
    template prints them. Before a group is used, it is rendered twice more with
    probe values (HTML-special characters; one very short, one very long), and
    the filled-in markers must give exactly those renderings, part by part; a
    template that does anything else with the values (a filter, a condition on
    them) makes the group render email by email, as `render_notification`
    does. Other kinds always render one by one.
    """

    def __init__(self):
        tag = secrets.token_hex(8)
        # Letters and digits only: templates and escaping print them unchanged.
        self._recipient_markers = tuple(f"rcpt{tag}p{part}" for part in range(3))
        self._url_markers = tuple(f"unsub{tag}p{part}" for part in range(3))
        self._groups: dict[tuple, _Group | PermanentEmailError | None] = {}
        self._url_parts: dict[str, tuple[str, str]] = {}  # per language: its /de/ prefix
        self._envelope_sender: str | None = None

    # rendering

    def _group(self, notification: Notification) -> _Group | None:
        keys = SHARED_CONTEXT_KEYS.get(notification.kind)
        if keys is None:
            return None
        context = notification.context or {}
        # A group never mixes languages: the language is part of what its emails share.
        language = notification_language(notification)
        key = (notification.kind, language, *(repr(context.get(name)) for name in keys))
        if key not in self._groups:
            try:
                with translation.override(language):
                    self._groups[key] = self._render_group(notification.kind, context)
            except PermanentEmailError as exc:
                self._groups[key] = exc
        group = self._groups[key]
        if isinstance(group, PermanentEmailError):
            raise PermanentEmailError(str(group))
        return group

    def _render_group(self, kind: str, context: dict) -> _Group | None:
        built = _builder(kind)(context)
        if built.get("reply_to"):
            return None  # its own Reply-To header: rendered (and composed) email by email
        marketing = kind in MARKETING_KINDS

        def render(part: int, recipient: str, url: str) -> str:
            values = _template_context(kind, recipient, built, url if marketing else None)
            return _render_template(kind, _TEMPLATE_SUFFIXES[part], values)

        parts = tuple(
            render(part, self._recipient_markers[part], self._url_markers[part]) for part in range(3)
        )
        fills = []
        for part in range(3):
            probes = [(recipient, url, render(part, recipient, url)) for recipient, url in _PROBES]
            fill = next(
                (
                    f
                    for f in _FILLS
                    if all(self._fill(parts[part], part, r, u, f) == rendered for r, u, rendered in probes)
                ),
                None,
            )
            if fill is None:
                return None  # the template does more than print the values: render email by email
            fills.append(fill)
        return _Group(kind=kind, parts=parts, fills=tuple(fills))

    def _fill(self, text: str, part: int, recipient: str, url: str, fill: Callable[[str], str]) -> str:
        return text.replace(self._recipient_markers[part], fill(recipient)).replace(
            self._url_markers[part], fill(url)
        )

    def unsubscribe_url(self, notification: Notification) -> str:
        """The same as `unsubscribe_url`, with the URL reversed once per batch."""
        language = notification_language(notification)
        if language not in self._url_parts:  # reverse() once: the token is the only part that changes
            with translation.override(language):
                prefix, _, suffix = absolute_url(
                    reverse("notifications:unsubscribe", kwargs={"token": "T"})
                ).rpartition("T")
            self._url_parts[language] = (prefix, suffix)
        prefix, suffix = self._url_parts[language]
        return f"{prefix}{make_unsubscribe_token(notification.recipient)}{suffix}"

    def render(self, notification: Notification) -> tuple[str, str, str, dict]:
        """(subject, text, html, headers), the same as `render_notification` gives."""
        group = self._group(notification)
        if group is None:
            return render_notification(notification)
        headers, url = {}, ""
        if group.kind in MARKETING_KINDS:
            url = self.unsubscribe_url(notification)
            headers = _unsubscribe_headers(url)
        subject, text, html = (
            self._fill(group.parts[part], part, notification.recipient, url, group.fills[part])
            for part in range(3)
        )
        return _subject_line(subject), text, html, headers

    def message(self, notification: Notification) -> EmailMultiAlternatives:
        return _message(notification, *self.render(notification))

    # composing for SMTP

    @property
    def envelope_sender(self) -> str:
        if self._envelope_sender is None:
            self._envelope_sender = sanitize_address(settings.DEFAULT_FROM_EMAIL, settings.DEFAULT_CHARSET)
        return self._envelope_sender

    def _compose_group(self, group: _Group) -> tuple[bytes, bytes] | None:
        """The group's message as (head, body) bytes, by Django, with markers; None if it cannot be shared.

        The head lacks the headers that differ per email (To, Date, Message-ID,
        X-Notification-Id, List-Unsubscribe); the body has the markers of the
        text and HTML parts, which must be sent as they are (7bit or 8bit, not
        quoted-printable or base64) and leave room on their lines for the values.
        """
        subject = _subject_line(group.parts[0])
        if self._recipient_markers[0] in subject or self._url_markers[0] in subject:
            return None
        template = EmailMultiAlternatives(
            subject=subject,
            body=group.parts[1],
            from_email=settings.DEFAULT_FROM_EMAIL,
            headers={"Date": "-", "Message-ID": "-"},  # stop Django making them; removed below
        )
        template.attach_alternative(group.parts[2], "text/html")
        mime = template.message()
        del mime["Date"], mime["Message-ID"]
        for part in mime.walk():
            if not part.is_multipart() and part["Content-Transfer-Encoding"] not in ("7bit", "8bit"):
                return None
        head, _, body = mime.as_bytes(linesep="\r\n").partition(b"\r\n\r\n")
        markers = [m.encode() for m in (*self._recipient_markers[1:], *self._url_markers[1:])]
        for line in body.split(b"\r\n"):
            found = sum(line.count(m) for m in markers)
            if found and len(line) + found * _VALUE_LIMIT > _LINE_LIMIT:
                return None
        if any(m in head for m in markers):
            return None
        return head, body

    def smtp_payload(self, notification: Notification) -> tuple[str, bytes] | None:
        """(envelope recipient, message bytes) for SMTP, or None when this email takes the generic path.

        The bytes are what Django would send for `self.message(notification)`,
        but for the MIME boundary and the order of the headers: the group's
        message composed once by Django, with this email's headers added and its
        values filled in. Only plain ASCII addresses and links qualify; others,
        kinds rendered one by one and kinds with attachments return None.
        """
        if ATTACHMENTS.get(notification.kind):
            return None  # files of its own: Django builds the message (`self.message`)
        group = self._group(notification)
        recipient = notification.recipient
        if group is None or not plain_address(recipient) or "==" in recipient:
            return None
        if group.composed is False:
            group.composed = self._compose_group(group)
        if group.composed is None:
            return None
        head, body = group.composed
        headers = {
            "To": recipient,
            "Date": formatdate(localtime=settings.EMAIL_USE_LOCALTIME),
            "X-Notification-Id": str(notification.pk),
            "Message-ID": stable_message_id(notification),
        }
        url = ""
        if group.kind in MARKETING_KINDS:
            url = self.unsubscribe_url(notification)
            if not url.isascii() or len(url) > _VALUE_LIMIT or "\n" in url or "\r" in url:
                return None
            headers.update(_unsubscribe_headers(url))
        for part in (1, 2):
            for marker, value in ((self._recipient_markers[part], recipient), (self._url_markers[part], url)):
                filled = group.fills[part](value)
                if len(filled) > _VALUE_LIMIT:
                    return None
                body = body.replace(marker.encode(), filled.encode())
        lines = b"".join(_header_line(name, value) for name, value in headers.items())
        return recipient, head + b"\r\n" + lines + b"\r\n" + body


def _header_line(name: str, value: str) -> bytes:
    """One ASCII header field; a value too long for a 78-character line starts on a continuation line."""
    if len(name) + 2 + len(value) > 78:
        return f"{name}:\r\n {value}\r\n".encode()
    return f"{name}: {value}\r\n".encode()
