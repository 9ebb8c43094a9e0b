"""Inbound SMS: a patient's reply (C/YES confirm, X/NO can't come, STOP), signed by the gateway.

`SMS_PROVIDER=webhook`: JSON `{"from", "body"}` with X-Infusion-Timestamp and
X-Infusion-Signature (HMAC-SHA256 of timestamp "." raw body, key SMS_WEBHOOK_SECRET), refused
when older than 5 minutes. `SMS_PROVIDER=twilio`: Twilio's form post and X-Twilio-Signature.
No bearer token: the signature is the authentication.
"""

from __future__ import annotations

import json
import time

from flask import current_app, request

from clinic.notify import sms, webhook
from clinic.services import patient_messages
from clinic.services.errors import ServiceError
from clinic.types import utcnow
from clinic.web.api import bp
from clinic.web.api.schemas import InboundSmsAnswerSchema

MAX_BODY = 2000


class BadSignature(ServiceError):
    """The request is not signed by the SMS gateway (or is too old)."""

    status = 401
    code = "unauthorized"


def _webhook_message() -> tuple[str, str]:
    raw = request.get_data(cache=True)
    config = current_app.config
    genuine = webhook.verify(
        config.get("SMS_WEBHOOK_SECRET", ""),
        request.headers.get(webhook.TIMESTAMP_HEADER),
        request.headers.get(webhook.SIGNATURE_HEADER),
        raw,
        time.time(),
    )
    if not genuine:
        raise BadSignature("The request is not signed by the SMS gateway, or is too old.")
    try:
        payload = json.loads(raw)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return "", ""
    sender, text = payload.get("from"), payload.get("body")
    return (sender if isinstance(sender, str) else ""), (text if isinstance(text, str) else "")


def _twilio_message() -> tuple[str, str]:
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(current_app.config.get("TWILIO_AUTH_TOKEN", ""))
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not validator.validate(request.url, request.form, signature):
        raise BadSignature("The request is not signed by Twilio.")
    return request.form.get("From", ""), request.form.get("Body", "")


@bp.route("/sms/inbound", methods=["POST"])
@bp.doc(security=[])
@bp.response(200, InboundSmsAnswerSchema)
@bp.alt_response(401, description="Not signed by the SMS gateway, or older than 5 minutes.")
def sms_inbound():
    """Act on a patient's SMS reply: confirm, can't come, or STOP (signed by the gateway)."""
    provider = (current_app.config.get("SMS_PROVIDER") or "").strip().lower()
    if provider == sms.TWILIO:
        sender, text = _twilio_message()
    elif provider == sms.WEBHOOK:
        sender, text = _webhook_message()
    else:
        raise BadSignature("No SMS gateway is configured.")
    result = patient_messages.inbound_sms(sender[:40], text[:MAX_BODY], utcnow())
    return {"result": result}
