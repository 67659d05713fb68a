"""The committed stubs in semlink/v2/ are exactly what protoc makes from proto/, and they serve."""

from concurrent import futures

import grpc
import pytest

from tests.helpers.link import make_frame, make_session
from semlink.v2 import semlink_pb2 as pb
from semlink.v2 import semlink_pb2_grpc as pb_grpc
from semlink.wire import frame_datagrams, frame_message, message_to_session, parse_packets, session_to_message
from semlink.wire.regen import GENERATED_FILES, REPO_ROOT, regenerate


def test_committed_stubs_match_a_fresh_regeneration(tmp_path):
    pytest.importorskip("grpc_tools.protoc", reason="grpcio-tools (dev extra) is not installed")
    produced = regenerate(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in produced] == list(GENERATED_FILES)
    for name in GENERATED_FILES:
        assert (tmp_path / name).read_bytes() == (REPO_ROOT / name).read_bytes(), (
            f"{name} differs from what proto/ generates: run scripts/gen_proto.sh and commit the result "
            "(a grpcio-tools version other than the one that made the committed stubs also shows up here)"
        )


class EchoLink(pb_grpc.FeatureLinkServicer):
    """Accepts any valid session and acks each frame message with its packet count."""

    def Stream(self, request_iterator, context):
        session = None
        for request in request_iterator:
            if request.WhichOneof("kind") == "session":
                session = message_to_session(request.session)
                yield pb.Downlink(session=pb.SessionReply(session_id=session.session_id, accepted=True))
            else:
                [frame] = parse_packets(request.frame.packets, session, None).frames
                yield pb.Downlink(ack=pb.Ack(frame_id=frame.header.frame_id, status="ok",
                                             detail=f"{len(frame.packets)} packets"))


def test_stubs_carry_a_session_and_frames_over_grpc():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    pb_grpc.add_FeatureLinkServicer_to_server(EchoLink(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        session = make_session(packets=5)
        frames = [make_frame(i, session=session) for i in range(3)]
        messages = [pb.Uplink(session=session_to_message(session))]
        messages += [frame_message(frame_datagrams(f, session)) for f in frames]
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            replies = list(pb_grpc.FeatureLinkStub(channel).Stream(iter(messages), timeout=10))
        assert replies[0].session.accepted and replies[0].session.session_id == session.session_id
        assert [r.ack.frame_id for r in replies[1:]] == [f.header.frame_id for f in frames]
        assert {r.ack.detail for r in replies[1:]} == {"5 packets"}
    finally:
        server.stop(grace=None)
