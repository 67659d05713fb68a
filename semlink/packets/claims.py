"""Which stream writes each session: a session is claimed by the stream that opens it, and only by that one.

A session id is 64 random bits the sender never shows; its low 20 bits (its public
*number*) prefix its frame ids, which anyone can see. A receiver (and channel_sim,
for each of its downstream streams) claims the number for the stream that opened
it: a second open of a live session is refused ``session in use``, and a number
once claimed by one session id is refused to any other id for as long as it is
remembered (the last ``remember`` numbers), so knowing a frame id is not enough
to write the next ones, even between the owner's reconnects.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

from semlink.packets.errors import SessionRefused
from semlink.packets.session import Session

SESSION_IN_USE = "session in use"
Holder = TypeVar("Holder")


class SessionClaims(Generic[Holder]):
    """Session number → the live stream (``Holder``) that writes it, and the session id that owns it."""

    def __init__(self, remember: int = 4096):
        self.remember = remember
        self._live: dict[int, Holder] = {}
        self._owner: OrderedDict[int, int] = OrderedDict()

    def __len__(self) -> int:
        return len(self._live)

    def claim(self, session: Session, holder: Holder) -> None:
        """Give ``session``'s number to ``holder``; raises :class:`SessionRefused` (``session in use``)."""
        number = session.number
        if number in self._live:
            raise SessionRefused(SESSION_IN_USE, f"session {number} is open on another stream, which alone writes "
                                 "its frames; a sender reconnecting retries once its old stream has ended")
        owner = self._owner.get(number)
        if owner is not None and owner != session.session_id:
            raise SessionRefused(SESSION_IN_USE, f"frame ids {number} << 32 belong to another session; restart the "
                                 "sender (it draws a new session id)")
        self._live[number] = holder
        self._owner[number] = session.session_id
        self._owner.move_to_end(number)
        while len(self._owner) > self.remember:
            self._owner.popitem(last=False)

    def release(self, session: Session, holder: Holder) -> None:
        """``holder``'s stream ended: its number is free again for the same session id."""
        if self._live.get(session.number) is holder:
            del self._live[session.number]

    def holder(self, number: int) -> Holder | None:
        return self._live.get(number)
