"""Helpers for the attack tests: run a coroutine with a bound, read a body as strict JSON."""

from __future__ import annotations

import asyncio
import json


def run(coro, timeout: float = 30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def _refuse(constant: str):
    raise ValueError(f"{constant} is not JSON")


def strict_json(text: str):
    """``text`` parsed as RFC 8259 JSON: ``NaN`` and ``Infinity`` (which Python's json accepts) raise."""
    return json.loads(text, parse_constant=_refuse)
