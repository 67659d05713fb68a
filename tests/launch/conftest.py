"""Fixtures for the launcher tests."""

from __future__ import annotations

import textwrap

import pytest
from launch_helpers import FAKE_SERVICE


@pytest.fixture
def fake_service(tmp_path):
    """``(module name, extra env)`` of a fake service importable from ``tmp_path``."""
    (tmp_path / "fake_service.py").write_text(textwrap.dedent(FAKE_SERVICE))
    return "fake_service", {"PYTHONPATH": str(tmp_path)}
