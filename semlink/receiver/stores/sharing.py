"""A frame decoder that also writes each frame it decodes to the shared store, and decodes frames read back from it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from semlink.receiver.engine import FrameDecoder
from semlink.receiver.reassembly import Reassembled
from semlink.receiver.store import ReceivedFrame
from semlink.receiver.stores.base import FrameStore, FrameStoreError
from semlink.receiver.stores.record import StoredFrame

log = logging.getLogger(__name__)


class SharingDecoder:
    """Wraps a :class:`FrameDecoder`; runs in the decoder's thread (the store calls block).

    A frame is written before its ack goes out, so once acked it can be asked
    about on any replica. A failed write is logged and counted (``store_failures``);
    the frame is still answered here, and elsewhere the store's outage answers 503.
    After a failure, writes pause for ``retry_s`` (frames meanwhile, counted in
    ``unshared``, are this replica's only), so an unreachable store does not hold
    up every frame's ack by its timeout.
    """

    def __init__(self, decoder: FrameDecoder, store: FrameStore, retry_s: float = 2.0,
                 clock: Callable[[], float] = time.monotonic):
        self.decoder = decoder
        self.codec = decoder.codec
        self.store = store
        self.retry_s = retry_s
        self.clock = clock
        self.store_failures = 0
        self.unshared = 0
        self._paused_until = float("-inf")

    def decode(self, reassembled: Reassembled) -> ReceivedFrame:
        frame = self.decoder.decode(reassembled)
        if self.clock() < self._paused_until:
            self.unshared += 1
            return frame
        try:
            self.store.put(StoredFrame(reassembled.frame, reassembled.messages, reassembled.wire_bytes,
                                       frame.received_at, reassembled.datagrams, reassembled.datagram_overhead))
        except FrameStoreError as err:
            self.store_failures += 1
            self._paused_until = self.clock() + self.retry_s
            log.warning("frame %d is answered by this replica only (writes to the store pause for %.0f s): %s",
                        frame.frame_id, self.retry_s, err)
        return frame

    def restore(self, stored: StoredFrame) -> ReceivedFrame:
        """Decode a frame another replica received (raises ``CodecError``/``MalformedFrame`` as ``decode`` does)."""
        frame = self.decoder.decode(Reassembled(stored.frame, stored.messages, False, stored.wire_bytes,
                                                stored.datagrams, stored.datagram_overhead))
        frame.received_at = stored.received_at
        return frame
