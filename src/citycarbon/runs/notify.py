"""Sending warnings: a webhook (HTTP POST of JSON, httpx) and e-mail (smtplib).

Channels come from the city config (``targets.notify``); passwords never live there: an SMTP
password is read from the environment variable the config names (``password_env``).
"""

from __future__ import annotations

import smtplib
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from typing import Any

import httpx

from citycarbon.config.settings import env_secret
from citycarbon.errors import InputError


def send_webhook(url: str, payload: Mapping[str, Any], *, timeout_s: float = 10.0) -> int:
    """POST ``payload`` as JSON to ``url``; returns the HTTP status (raises on 4xx/5xx)."""
    response = httpx.post(url, json=dict(payload), timeout=timeout_s)
    response.raise_for_status()
    return response.status_code


def send_email(
    *,
    host: str,
    port: int,
    sender: str,
    to: Sequence[str],
    subject: str,
    body: str,
    starttls: bool = False,
    username: str | None = None,
    password_env: str | None = None,
    timeout_s: float = 10.0,
) -> None:
    """Send a plain-text UTF-8 e-mail through an SMTP server."""
    if not to:
        raise InputError("e-mail notification has no recipients", field="notify.email.to")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, ", ".join(to), subject
    msg.set_content(body, charset="utf-8")
    with smtplib.SMTP(host, int(port), timeout=timeout_s) as smtp:
        if starttls:
            smtp.starttls()
        if username:
            password = env_secret(password_env or "")
            if not password:
                raise InputError(
                    "SMTP user given but its password variable is empty",
                    field="notify.email.password_env",
                    value=password_env,
                )
            smtp.login(username, password)
        smtp.send_message(msg)
