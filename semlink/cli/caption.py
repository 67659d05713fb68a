"""``semlink caption IMAGE``: send one image through running services and print the receiver's answer."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from semlink.cli.checks import check_task, non_negative_int
from semlink.cli.options import add_token_option
from semlink.launch.client import DEFAULT_RECEIVER, DEFAULT_TRANSMITTER, DEFAULT_WAIT_MS, LinkClient, byte_figure

HELP = """\
A client of running services (`semlink up` or `docker compose up`): uploads IMAGE
to the transmitter (POST /v1/frames), which codes its vision features and sends
them through channel_sim; then asks the receiver to run TASK on the received
features (POST /v1/frames/{id}/tasks) and prints the answer. Examples:
  semlink caption photo.jpg
  semlink caption photo.jpg --task "<OD>" --json
  semlink caption photo.jpg --task "<CAPTION_TO_PHRASE_GROUNDING>" --text "a red circle"
  SEMLINK_API_TOKEN=s3cret semlink caption photo.jpg     # services started with an API token
"""


def register(sub) -> None:
    p = sub.add_parser("caption", help="send an image through running services, print the answer",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("image", type=Path, help="image file (PNG, JPEG, ...)")
    p.add_argument("--task", default="<CAPTION>", help="Florence-2 task (default: <CAPTION>)")
    p.add_argument("--text", default=None, help="text input for tasks that take one")
    p.add_argument("--transmitter", default=DEFAULT_TRANSMITTER, metavar="URL",
                   help=f"transmitter REST URL (default: {DEFAULT_TRANSMITTER})")
    p.add_argument("--receiver", default=DEFAULT_RECEIVER, metavar="URL",
                   help=f"receiver REST URL (default: {DEFAULT_RECEIVER})")
    p.add_argument("--wait-ms", type=non_negative_int, default=DEFAULT_WAIT_MS,
                   help=f"how long the receiver waits for the frame (default: {DEFAULT_WAIT_MS})")
    p.add_argument("--json", action="store_true", help="print the receiver's whole answer as JSON")
    add_token_option(p)
    p.set_defaults(func=run)


def run(args) -> int:
    logging.getLogger("httpx").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    if not args.image.is_file():
        raise ValueError(f"{args.image} is not a file; pass the path of an image")
    check_task(args.task, args.text)
    with LinkClient(args.transmitter, args.receiver, token=args.token) as client:
        ticket = client.send(args.image)
        answer = client.ask(ticket["frame_id"], args.task, args.text, args.wait_ms)
    if args.json:
        print(json.dumps(answer))
        return 0
    result = answer["result"]
    print(result if isinstance(result, str) else json.dumps(result))
    print(f"frame {answer['frame_id']}: {byte_figure(ticket.get('wire_bytes') or answer.get('wire_bytes', 0))} wire B, "
          f"{answer.get('packets_lost', 0)}/{answer.get('packets', '?')} packets lost, "
          f"{answer.get('latency_ms', 0):.0f} ms ({answer.get('model')}, {answer.get('codec')})")
    return 0
