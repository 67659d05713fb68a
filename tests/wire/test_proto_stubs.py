"""The committed stubs in semlink/v1/ are exactly what protoc makes from proto/, and they serve."""

from concurrent import futures

import grpc
import numpy as np
import pytest

from semlink.packets import packetize
from semlink.v1 import semlink_pb2 as pb
from semlink.v1 import semlink_pb2_grpc as pb_grpc
from semlink.wire import frame_to_message, message_to_frame
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
    def Send(self, request, context):
        frame = message_to_frame(request)
        return pb.Ack(frame_id=frame.header.frame_id, status="ok", detail=f"{len(frame.packets)} packets")

    def Stream(self, request_iterator, context):
        for request in request_iterator:
            yield self.Send(request, context)


def test_stubs_carry_frames_over_grpc():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    pb_grpc.add_FeatureLinkServicer_to_server(EchoLink(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        latent = np.ones((2, 5, 3), dtype=np.float16)
        messages = [frame_to_message(packetize(latent, frame_id=i, codec="fp16", fingerprint="f",
                                               feature_shape=(2, 5, 3), rows_per_packet=2)) for i in range(3)]
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.FeatureLinkStub(channel)
            assert stub.Send(messages[0], timeout=10) == pb.Ack(frame_id=0, status="ok", detail="3 packets")
            acks = list(stub.Stream(iter(messages), timeout=10))
        assert [a.frame_id for a in acks] == [0, 1, 2]
    finally:
        server.stop(grace=None)
