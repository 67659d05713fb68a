"""Comparison mode with the three services as real processes: one shapes frame, two answers through channel_sim."""

from __future__ import annotations

import time

import httpx
import pytest

from semlink.launch import LinkClient, LinkPorts, LocalLink
from semlink.launch.config import CHANNEL, RECEIVER, TRANSMITTER, LinkConfig
from semlink.packets.session import frame_id_of


@pytest.mark.slow  # three processes importing torch: ~20 s on an idle machine, a minute or two on a busy one
@pytest.mark.timeout(300)
def test_a_shapes_frame_sent_twice_is_answered_for_both_codecs():
    config = LinkConfig(model="tiny-random", codec="q8", device="cpu", ports=LinkPorts.free(),
                        channel={"delay_ms": 5.0}, source="shapes", source_fps=4.0)
    with LocalLink(config, ready_timeout=240) as link, httpx.Client(timeout=20) as http:
        tx = link.urls[TRANSMITTER]
        assert http.get(f"{tx}/v1/source").json() == {"kind": "shapes", "fps": 4.0, "paused": False, "path": None}
        assert http.put(f"{tx}/v1/comparison", json={"enabled": True}).json()["enabled"]
        deadline, pair = time.monotonic() + 60, None
        while pair is None and time.monotonic() < deadline:  # the next shapes frame goes twice
            frames = http.get(f"{tx}/v1/stats").json()["frames"]["accepted"]
            for frame_id in _recent_ids(http, tx, frames):
                record = http.get(f"{tx}/v1/frames/{frame_id}").json()
                if record.get("twin_id") is not None:
                    pair = record, http.get(f"{tx}/v1/frames/{record['twin_id']}").json()
                    break
            time.sleep(0.25)
        assert pair is not None, "no comparison pair within 60 s"
        http.put(f"{tx}/v1/source", json={"kind": "shapes", "fps": 4.0, "paused": True})
        with LinkClient(tx, link.urls[RECEIVER]) as client:
            answers = [client.ask(record["frame_id"], "<CAPTION>", None, 10000) for record in pair]
        channel = http.get(f"{link.urls[CHANNEL]}/v1/stats").json()
    main, twin = pair
    assert (main["codec"], twin["codec"]) == ("q8", "fp16") and main["pair_id"] == twin["pair_id"] == main["frame_id"]
    assert main["source"] == twin["source"] == "shapes" and main["truth"] == twin["truth"]
    assert main["truth"]["caption"] and main["truth"]["objects"]
    assert [a["codec"] for a in answers] == ["q8", "fp16"]
    assert all(isinstance(a["result"], str) for a in answers)
    assert answers[1]["wire_bytes"] > answers[0]["wire_bytes"]
    assert channel["frames"]["in"] >= 2  # both went through channel_sim


def _recent_ids(http: httpx.Client, tx: str, accepted: int) -> list[int]:
    """The ids of the transmitter's latest frames (its stream's sequence numbers count up from 0)."""
    session = http.get(f"{tx}/v1/stats").json()["session"]["id"]
    return [frame_id_of(session, seq) for seq in range(max(0, accepted - 4), accepted)]
