"""The e-mail channel: one plain-text message over SMTP (STARTTLS, SSL or none)."""

from __future__ import annotations

import functools
import smtplib
import ssl
from email.message import EmailMessage
from typing import Any

TIMEOUT_SECONDS = 10


def build(
    sender: str, to: str, subject: str, text: str, calendar: bytes | None = None
) -> EmailMessage:
    """Return the message to send to one recipient (with an .ics file when given)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    if calendar is not None:
        message.add_attachment(
            calendar, maintype="text", subtype="calendar", filename="appointment.ics"
        )
    return message


@functools.cache
def tls_context() -> ssl.SSLContext:
    """Return the TLS settings, built once: loading the CA store takes a while."""
    return ssl.create_default_context()


def send(config: Any, to: str, subject: str, text: str, calendar: bytes | None = None) -> None:
    """Send one message through the configured SMTP server; raise on any failure."""
    host, port = config["SMTP_HOST"], int(config["SMTP_PORT"])
    mode = (config.get("SMTP_TLS") or "starttls").lower()
    message = build(config["MAIL_FROM"], to, subject, text, calendar)
    if mode == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            host, port, timeout=TIMEOUT_SECONDS, context=tls_context()
        )
    else:
        client = smtplib.SMTP(host, port, timeout=TIMEOUT_SECONDS)
    with client:
        if mode == "starttls":
            client.starttls(context=tls_context())
        if config.get("SMTP_USERNAME"):
            client.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD", ""))
        client.send_message(message)
