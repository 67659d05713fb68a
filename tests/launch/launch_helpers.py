"""Helpers for the launcher tests: the services' settings classes, a fake service module, process checks."""

from __future__ import annotations

import importlib

from pydantic_settings import BaseSettings

FAKE_SERVICE = '''
"""A stand-in service: answers /health/ready with 200 after READY_AFTER_S, logs, handles SIGTERM."""
import http.server, os, signal, sys, threading, time

port = int(os.environ["FAKE_HTTP_PORT"])
if os.environ.get("FAKE_FAIL"):
    print("fake: cannot start: " + os.environ["FAKE_FAIL"], flush=True)
    sys.exit(3)
born = time.monotonic()
ready_after = float(os.environ.get("READY_AFTER_S", "0"))

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == "/health/ready" and time.monotonic() - born >= ready_after
        self.send_response(200 if ok else 503)
        self.end_headers()
    def log_message(self, *args):
        pass

server = http.server.HTTPServer(("127.0.0.1", port), Handler)
signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=server.shutdown).start())
print(f"fake: listening on {port}", flush=True)
server.serve_forever()
print("fake: stopped cleanly", flush=True)
'''


def settings_class(service: str) -> type[BaseSettings]:
    """The one ``BaseSettings`` subclass in ``<service>.settings``."""
    module = importlib.import_module(f"{service}.settings")
    found = [v for v in vars(module).values()
             if isinstance(v, type) and issubclass(v, BaseSettings) and v is not BaseSettings
             and v.__module__ == module.__name__]
    assert len(found) == 1, f"{service}.settings should define exactly one BaseSettings, found {found}"
    return found[0]


def gone(pid: int) -> bool:
    """No such process, or a zombie (it runs nothing; its reaper is init once its parent died)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return "\nState:\tZ" in f.read()
    except FileNotFoundError:
        return True
