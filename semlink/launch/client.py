"""A REST client of a running link: send an image to the transmitter, ask the receiver about it."""

from __future__ import annotations

import io
import mimetypes
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

DEFAULT_TRANSMITTER = "http://127.0.0.1:8001"
DEFAULT_RECEIVER = "http://127.0.0.1:8000"
DEFAULT_WAIT_MS = 5000


class ServiceError(RuntimeError):
    """A service answered an error: its HTTP ``status`` and ``detail``, and a sentence saying who and where."""

    def __init__(self, message: str, status: int, detail: str):
        super().__init__(message)
        self.status = status
        self.detail = detail


def byte_figure(n: float) -> str:
    """A byte (or datagram) count as people read it: ``61`` for a whole one, ``98.75`` for a packed frame's share of
    its group's (two decimals at most), thousands separated."""
    return f"{n:,.2f}".rstrip("0").rstrip(".")


def bearer_headers(token: str | None) -> dict[str, str]:
    """``Authorization: Bearer <token>`` for services started with an API token; nothing without one."""
    return {"Authorization": f"Bearer {token}"} if token else {}


class LinkClient:
    """``send`` an image (``POST /v1/frames``), then ``ask`` a task about it (``POST /v1/frames/{id}/tasks``)."""

    def __init__(self, transmitter: str = DEFAULT_TRANSMITTER, receiver: str = DEFAULT_RECEIVER,
                 timeout: float = 120.0, token: str | None = None):
        """``token``: the services' bearer token (their ``API_TOKEN``), sent with every call when given."""
        self.transmitter = transmitter.rstrip("/")
        self.receiver = receiver.rstrip("/")
        self.http = httpx.Client(timeout=timeout, headers=bearer_headers(token))

    def send(self, image: Image.Image | bytes | str | Path, filename: str = "image.png") -> dict[str, Any]:
        """Upload one image; returns ``{"frame_id", "status"}`` once the frame is on the wire."""
        if isinstance(image, (str, Path)):
            filename, data = Path(image).name, Path(image).read_bytes()
        elif isinstance(image, Image.Image):
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            data = buffer.getvalue()
        else:
            data = image
        return self._call("transmitter", "POST", f"{self.transmitter}/v1/frames",
                          files={"file": (filename, data, mimetypes.guess_type(filename)[0] or "image/png")})

    def ask(self, frame_id: int, task: str = "<CAPTION>", text: str | None = None,
            wait_ms: int = DEFAULT_WAIT_MS) -> dict[str, Any]:
        """Run ``task`` on a received frame, waiting up to ``wait_ms`` for it to arrive."""
        body = {"task": task, "text": text, "wait_ms": wait_ms}
        return self._call("receiver", "POST", f"{self.receiver}/v1/frames/{frame_id}/tasks", json=body)

    def frame_status(self, frame_id: int) -> dict[str, Any]:
        """The transmitter's view of a frame: ``queued|sent|acked|partial|lost`` and why."""
        return self._call("transmitter", "GET", f"{self.transmitter}/v1/frames/{frame_id}")

    def _call(self, service: str, method: str, url: str, **kwargs) -> dict[str, Any]:
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.HTTPError as err:
            raise RuntimeError(
                f"cannot reach the {service} at {url} ({err}); start the services with `semlink up` "
                f"or pass --{service} URL"
            ) from err
        if response.status_code == 401:
            if 'error="invalid_token"' in response.headers.get("WWW-Authenticate", ""):
                raise RuntimeError(f"{service} answered 401 to {method} {url}: it rejected the token sent; pass "
                                   "the API token the services were started with (--token or SEMLINK_API_TOKEN)")
            raise RuntimeError(f"{service} answered 401 to {method} {url}: it needs its API token; pass --token "
                               "or set SEMLINK_API_TOKEN")
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise ServiceError(f"{service} answered {response.status_code} to {method} {url}: {detail}",
                               response.status_code, str(detail))
        return response.json()

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "LinkClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
