"""The SMS channel: a small provider interface, a signed JSON webhook or Twilio.

`SMS_PROVIDER=webhook` posts `{"to", "body", "message_id"}` to `SMS_WEBHOOK_URL`, signed as
the alert webhooks are (X-Infusion-Timestamp, X-Infusion-Signature with SMS_WEBHOOK_SECRET);
`SMS_PROVIDER=twilio` sends through Twilio's API (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN,
TWILIO_FROM); unset: no SMS is sent.
"""

from __future__ import annotations

from typing import Any, Protocol

from clinic.notify import webhook

WEBHOOK = "webhook"
TWILIO = "twilio"


class SmsProvider(Protocol):
    """Something that sends one text message, raising on failure."""

    def send(self, to: str, body: str, message_id: int, timestamp: int) -> None:
        """Send one message."""


class WebhookSms:
    """Post each message, signed, to the clinic's own SMS gateway."""

    def __init__(self, url: str, secret: str) -> None:
        if not url:
            raise ValueError("SMS_WEBHOOK_URL is not set")
        if not secret:
            raise ValueError("SMS_WEBHOOK_SECRET is empty: nothing is sent unsigned")
        self.url, self.secret = url, secret

    def send(self, to: str, body: str, message_id: int, timestamp: int) -> None:
        """POST {"to", "body", "message_id"}; raise unless the gateway answers 2xx."""
        payload = {"to": to, "body": body, "message_id": message_id}
        webhook.post(self.url, self.secret, payload, timestamp)


class TwilioSms:
    """Send through Twilio's Messages API."""

    def __init__(self, account_sid: str, auth_token: str, sender: str) -> None:
        if not (account_sid and auth_token and sender):
            raise ValueError("TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM are needed")
        from twilio.rest import Client  # imported only where Twilio is the provider

        self.client = Client(account_sid, auth_token)
        self.sender = sender

    def send(self, to: str, body: str, message_id: int, timestamp: int) -> None:
        """Create the message; Twilio raises on refusal."""
        self.client.messages.create(to=to, from_=self.sender, body=body)


def provider(config: Any) -> SmsProvider | None:
    """Return the configured provider, or None when SMS_PROVIDER is unset (no SMS)."""
    name = (config.get("SMS_PROVIDER") or "").strip().lower()
    if not name:
        return None
    if name == WEBHOOK:
        return WebhookSms(config.get("SMS_WEBHOOK_URL", ""), config.get("SMS_WEBHOOK_SECRET", ""))
    if name == TWILIO:
        return TwilioSms(
            config.get("TWILIO_ACCOUNT_SID", ""),
            config.get("TWILIO_AUTH_TOKEN", ""),
            config.get("TWILIO_FROM", ""),
        )
    raise ValueError(f"SMS_PROVIDER must be webhook or twilio, not {name!r}")
