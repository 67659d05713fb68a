"""Cross-origin access for the browser page: the origins a service lets call it, from its ``cors_origins`` setting.

The receiver serves the live page at ``/``; the page calls the transmitter and
channel_sim from that origin, so both allow it (and only what is listed).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

PAGE_ORIGINS = "http://localhost:8000,http://127.0.0.1:8000"
"""The receiver's page at its default port, by either local name."""


def origins(setting: str) -> list[str]:
    """``"http://a:8000, http://b:8000"`` → ``["http://a:8000", "http://b:8000"]`` (empty: none)."""
    return [origin.strip().rstrip("/") for origin in setting.split(",") if origin.strip()]


def allow_origins(app: FastAPI, setting: str) -> None:
    """Let the listed origins call ``app`` from a browser (GET, POST, PUT; bearer tokens, JSON and image bodies)."""
    allowed = origins(setting)
    if allowed:
        app.add_middleware(CORSMiddleware, allow_origins=allowed, allow_methods=["GET", "POST", "PUT"],
                           allow_headers=["Authorization", "Content-Type"], max_age=600)
