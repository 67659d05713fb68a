"""``torch``, imported on its first use: the packet view of the channels (what channel_sim runs) needs only numpy.

The tensor view (the trainer) touches ``torch.<anything>`` and gets the real module;
channel_sim never does, so it starts without loading torch (about 1.4 s of its 1.8 s
import on a 2-core CPU).
"""

from __future__ import annotations

import importlib


class _LazyTorch:
    def __getattr__(self, name: str):
        return getattr(importlib.import_module("torch"), name)


torch = _LazyTorch()
