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
                        channel={"delay_ms": 5.0}, source="shapes", source_fps=2.0)
    with LocalLink(config, ready_timeout=240) as link, httpx.Client(timeout=20) as http:
        tx = link.urls[TRANSMITTER]
        assert http.get(f"{tx}/v1/source").json() == {"kind": "shapes", "fps": 2.0, "paused": False, "path": None}
        # fp16 here (the page test sends the default AVIF reference through channel_sim)
        assert http.put(f"{tx}/v1/comparison", json={"enabled": True, "reference": "fp16"}).json()["enabled"]
        stats = http.get(f"{tx}/v1/stats").json()
        session, seq = stats["session"]["id"], stats["frames"]["accepted"]  # frames from here on go twice
        deadline, pair = time.monotonic() + 120, None
        while pair is None and time.monotonic() < deadline:
            record = http.get(f"{tx}/v1/frames/{frame_id_of(session, seq)}")
            if record.status_code == 200 and record.json()["twin_id"] is not None:
                pair = record.json(), http.get(f"{tx}/v1/frames/{record.json()['twin_id']}").json()
            elif record.status_code == 200 and record.json()["status"] not in ("queued",):
                seq += 1  # encoded before comparison was on (it can only be the first few)
            else:
                time.sleep(0.2)  # not accepted or not encoded yet
        assert pair is not None, "no comparison pair within 120 s"
        http.put(f"{tx}/v1/source", json={"kind": "shapes", "fps": 2.0, "paused": True})
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

