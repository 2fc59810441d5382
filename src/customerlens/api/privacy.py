"""Personal data stays out of the logs: records and free text are masked before logging."""

from __future__ import annotations

import logging
import re
from typing import Any

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-])[A-Za-z0-9.-]*")
#: phone-like runs: 7 or more digits, optionally separated by spaces, dots or dashes
_PHONE = re.compile(r"\+?\d(?:[\s.-]?\d){6,}")


def mask_text(text: str) -> str:
    """Email addresses and phone numbers in free text, masked (``j***@e***``, ``***23``)."""
    text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}***", text)
    return _PHONE.sub(lambda m: "***" + re.sub(r"\D", "", m.group(0))[-2:], text)


def mask_value(field: str, value: Any) -> str:
    """One field of a record, masked: initials of names, the outward postcode, ``***`` else."""
    text = str(value)
    if field in ("first_name", "surname", "full_name"):
        return " ".join(f"{w[0]}." for w in text.split() if w)
    if field == "postcode":
        return text.split()[0] + " ***" if " " in text else text[:2] + "***"
    if field == "email":
        return mask_text(text)
    return "***"


def mask_record(record: dict[str, Any]) -> str:
    """A record for a log line: which fields it had, each masked."""
    shown = {k: mask_value(k, v) for k, v in record.items() if v not in (None, "")}
    return "{" + ", ".join(f"{k}={v}" for k, v in shown.items()) + "}"


class MaskingFilter(logging.Filter):
    """Masks emails and phone numbers in every record passing through a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
