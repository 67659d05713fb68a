"""Field types for the services' strict request bodies: numbers as JSON (and JSON Schema) read them.

Request bodies are strict (``"wait_ms": false`` or ``"1"`` is not a number), but
JSON has one number type: ``106162.0`` is the integer 106162 to JSON Schema's
``"type": "integer"``, so an integer field takes it too (a fraction is still refused).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator


def _integral(value: Any) -> Any:
    """A float with no fraction as the int it is; anything else as given, for the strict int check to judge."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


JsonInt = Annotated[int, BeforeValidator(_integral)]
