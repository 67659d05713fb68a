"""``semlink demo``: start the services on free ports, send the built-in sample images through, print answers."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from semlink.cli.checks import check_task, non_negative_int, positive_int
from semlink.cli.up import add_link_options, link_config, page_line
from semlink.launch import LinkClient, LinkPorts, LocalLink, interrupt_on_stop_signals, prefixed_sink
from semlink.launch.client import ServiceError, byte_figure
from semlink.launch.config import RECEIVER, TRANSMITTER
from semlink.samples import sample_images, sample_scenes
from semlink.shapes.text import TASKS, od_boxes, target

HELP = """\
Runs offline with no arguments: starts receiver, channel_sim and transmitter as
local processes on free ports, sends the built-in sample images through the
channel (POST /v1/frames on the transmitter), asks the receiver a task about
each (POST /v1/frames/{id}/tasks), prints every frame's answer with its bytes,
packets lost and latency (or, for a frame the link lost whole, that it was lost
and why), and stops everything. It uses the best built-in model
(shapes-tiny, trained on the shapes world, when shipped; else tiny-random).
Examples:
  semlink demo
  semlink demo --frames 8 --loss 0.2 --task "<DETAILED_CAPTION>"
  semlink demo --json --snr 6
  semlink demo --datagram-overhead 40   # wire_bytes with RTP/UDP/IPv4's 40 B per datagram
  semlink demo --loss 0.2 --burst 4 --spread 1   # bursty loss; each frame's datagrams a frame apart
  semlink demo --datagram-overhead 40 --pack 4   # the four frames in one group of datagrams
  semlink demo --page          # then keep the live page up, shapes stream running, until Ctrl-C
"""


def register(sub) -> None:
    p = sub.add_parser("demo", help="offline end-to-end run through the three services", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_link_options(p)
    p.add_argument("--frames", type=positive_int, default=4, help="how many built-in sample images to send (default: 4)")
    p.add_argument("--task", default="<CAPTION>", help="Florence-2 task to ask the receiver (default: <CAPTION>)")
    p.add_argument("--text", default=None, help="text input for tasks that take one")
    p.add_argument("--wait-ms", type=non_negative_int, default=10000, help="how long the receiver waits for a frame (default: 10000)")
    p.add_argument("--json", action="store_true", help="one JSON object per frame on stdout")
    p.add_argument("--page", action="store_true", help="afterwards keep the services and the live page up, the "
                                                       "transmitter streaming built-in shapes scenes, until Ctrl-C")
    p.set_defaults(func=run)


def expected(scene, task: str):
    """What the shapes world says the answer is (``None`` for tasks it has no truth for)."""
    if task == "<OD>":
        return od_boxes(scene)
    return target(scene, task) if task in TASKS else None


def run(args) -> int:
    logging.getLogger("httpx").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    check_task(args.task, args.text)
    config = link_config(args, LinkPorts.free())
    if args.page:
        config = dataclasses.replace(config, source="shapes")
    sink = prefixed_sink(sys.stderr) if args.verbose else None
    if not args.json:
        print(f"demo: model={config.model} codec={config.codec} frames={args.frames} task={args.task}"
              + (f" channel={config.channel}" if config.channel else "") + " (starting services...)", flush=True)
    with interrupt_on_stop_signals(), LocalLink(config, sink=sink, ready_timeout=args.ready_timeout) as link:
        print(f"live page: {page_line(config)}" + ("" if args.page else " (until the demo ends; --page keeps it up)"),
              file=sys.stderr if args.json else sys.stdout, flush=True)
        with LinkClient(link.urls[TRANSMITTER], link.urls[RECEIVER], token=config.api_token) as client:
            images, scenes = sample_images(args.frames), sample_scenes(args.frames)
            # packed, a group's frames are uploaded together (an upload returns once its frame is on the wire, and a
            # group goes when full): one at a time, each would wait for the group to time out and go alone
            with ThreadPoolExecutor(max_workers=config.pack) as uploads:
                sent = list(uploads.map(lambda i: client.send(images[i], f"sample-{i}.png"), range(len(images))))
            for i, (ticket, scene) in enumerate(zip(sent, scenes)):
                try:
                    answer = client.ask(ticket["frame_id"], args.task, args.text, args.wait_ms)
                except ServiceError as err:
                    row = lost_row(client, i, ticket, err)  # the link lost it: said so, and the demo goes on
                    print(json.dumps(row) if args.json else describe_lost(row), flush=True)
                    continue
                row = {"image": i, **answer, "wire_bytes_sent": ticket.get("wire_bytes"),
                       "datagram_bytes": answer["wire_bytes"] - answer["datagram_overhead"] * answer["datagrams"],
                       "expected": expected(scene, args.task)}
                print(json.dumps(row) if args.json else describe(row), flush=True)
        if args.page:
            print(f"live page: {page_line(config)} (the shapes stream runs; Ctrl-C stops)", file=sys.stderr, flush=True)
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                pass
    return 0


def lost_row(client: LinkClient, image: int, ticket: dict, err: ServiceError) -> dict:
    """The row of a frame the receiver has no answer for because the link lost it (the transmitter says so, and
    why); any other error is raised."""
    status: dict = {}
    for _ in range(50 if err.status == 404 else 0):  # its ack may still be on its way back to the transmitter
        status = client.frame_status(ticket["frame_id"])
        if status.get("status") in ("acked", "partial", "lost"):
            break
        time.sleep(0.1)
    if status.get("status") != "lost":
        raise err
    return {"image": image, "frame_id": ticket["frame_id"], "lost": True, "reason": status.get("reason", ""),
            "wire_bytes_sent": ticket.get("wire_bytes")}


def describe_lost(row: dict) -> str:
    return f"frame {row['frame_id']}: lost on the link ({row['reason']}) [{byte_figure(row['wire_bytes_sent'])} wire B sent]"


def describe(row: dict) -> str:
    result = row["result"]
    shown = repr(result) if isinstance(result, str) else json.dumps(result)
    lost = f"{row['packets_lost']}/{row['packets']}" if "packets" in row else str(row["packets_lost"])
    sent = row.get("wire_bytes_sent") or row["wire_bytes"]
    transport = (f" with {byte_figure(row['datagrams'])} x {row['datagram_overhead']} B transport"
                 if row.get("datagram_overhead") else "")
    line = (f"frame {row['frame_id']}: {shown}  [{byte_figure(sent)} wire B{transport}, lost {lost} packets, "
            f"{row['latency_ms']:.0f} ms]")
    if isinstance(row.get("expected"), str):
        line += f"\n  expected: {row['expected']!r}"
    return line
