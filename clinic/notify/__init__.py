"""The notification outbox and its channels: e-mail over SMTP and signed JSON webhooks."""
