"""A blocking ``FeatureLink.Stream`` client: opens a session, sends frames or raw bytes, waits for their acks.

The receiver-load bench (:mod:`semlink.bench.receiver_load`) drives receivers with it;
tests use it to send what a well-behaved sender would not.
"""

from __future__ import annotations

import queue
import threading

import grpc

from semlink.packets import Frame, Session
from semlink.v2 import semlink_pb2 as pb
from semlink.wire import frame_datagrams, frame_message, session_to_message


class StreamClient:
    """A blocking ``FeatureLink.Stream`` client: opens ``session``, sends frames, waits for their acks.

    ``raw=True`` streams bytes as given (for garbage); otherwise ``Uplink`` messages.
    """

    _END = object()

    def __init__(self, channel: grpc.Channel, session: Session | None, timeout: float = 20.0, open_with=None):
        self.session = session
        self._out: queue.Queue = queue.Queue()
        self._cond = threading.Condition()
        self.acks: dict[int, list[pb.Ack]] = {}
        self.all_acks: list[pb.Ack] = []
        self.session_reply: pb.SessionReply | None = None
        self.error: grpc.RpcError | None = None
        call = channel.stream_stream("/semlink.v2.FeatureLink/Stream", request_serializer=lambda b: b,
                                     response_deserializer=pb.Downlink.FromString)
        self._call = call(iter(lambda: self._out.get(), self._END), timeout=timeout)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        first = open_with if open_with is not None else pb.Uplink(session=session_to_message(session))
        self.put(first)

    def put(self, message: pb.Uplink | bytes) -> None:
        self._out.put(message if isinstance(message, bytes) else message.SerializeToString())

    def _read(self) -> None:
        try:
            for reply in self._call:
                with self._cond:
                    if reply.WhichOneof("kind") == "session":
                        self.session_reply = reply.session
                    else:
                        self.acks.setdefault(reply.ack.frame_id, []).append(reply.ack)
                        self.all_acks.append(reply.ack)
                    self._cond.notify_all()
        except grpc.RpcError as err:
            with self._cond:
                self.error = err
                self._cond.notify_all()

    def opened(self, timeout: float = 10.0) -> pb.SessionReply:
        with self._cond:
            if not self._cond.wait_for(lambda: self.session_reply is not None or self.error is not None, timeout):
                raise TimeoutError("no answer to the session")
        return self.session_reply

    def send(self, frame: Frame | None = None, datagrams: list[bytes] | None = None) -> None:
        if datagrams is None:
            datagrams = frame_datagrams(frame, self.session)
        self.put(frame_message(datagrams))

    def report(self, last_frame_id: int) -> None:
        self.put(pb.Uplink(report=pb.SenderReport(last_frame_id=last_frame_id)))

    def ack(self, frame_id: int, timeout: float = 10.0) -> pb.Ack:
        """The (first) ack for ``frame_id``, waiting up to ``timeout``."""
        with self._cond:
            if not self._cond.wait_for(lambda: frame_id in self.acks, timeout):
                raise TimeoutError(f"no ack for frame {frame_id} within {timeout} s (got {list(self.acks)})")
            return self.acks[frame_id][0]

    def wait_acks(self, count: int, timeout: float = 10.0) -> list[pb.Ack]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.all_acks) >= count, timeout):
                raise TimeoutError(f"{len(self.all_acks)} of {count} acks within {timeout} s")
            return list(self.all_acks)

    def close(self) -> None:
        self._out.put(self._END)
        self._reader.join(timeout=10)

    def __enter__(self) -> "StreamClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
