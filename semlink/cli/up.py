"""``semlink up``: start receiver, channel_sim and transmitter locally, restart any that dies; Ctrl-C stops all."""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
from pathlib import Path

from semlink.launch import (
    LinkConfig,
    LinkPorts,
    LocalLink,
    RestartPolicy,
    Supervisor,
    interrupt_on_stop_signals,
    prefixed_sink,
)
from semlink.channel.erasure import GilbertElliott
from semlink.cli.checks import burst_length, check_link, check_model, non_negative_int, positive_int, probability
from semlink.cli.options import add_grpc_token_option, add_token_option
from semlink.launch.config import CHANNEL, RECEIVER, TRANSMITTER
from semlink.launch.defaults import best_builtin_model, best_codec
from semlink.launch.link import READY_TIMEOUT_S, stopped_cleanly
from semlink.packets.transport import parse_overhead
from semlink.packets.packing import MAX_PACK
from semlink.wire.spread import MAX_SPREAD

HELP = """\
Starts the three services as local processes (no Docker) with one model, codec
and device, waits until each answers /health/ready, prints their URLs, then
streams their logs, each line prefixed with the service's name. Ctrl-C (or
SIGTERM) stops all three: transmitter first, receiver last. Default ports are
the contract's (receiver 8000/50051, transmitter 8001, channel_sim 8002/50052);
--free-ports picks free ones instead.

A service that exits after it was ready is restarted on the same ports, after
0.5 s, then 1 s, 2 s, ... (at most 15 s), while the other two keep running;
the senders reconnect on their own. Past --max-restarts restarts of one service
in a minute, `up` gives up, says why with its last log lines, and stops all
three. A service that exits before it was ever ready stops everything at once.
Examples:
  semlink up
  semlink up --model florence-community/Florence-2-base --codec q8 --device cuda
  semlink up --loss 0.1 --delay-ms 20 --jitter-ms 5
  semlink up --datagram-overhead 40    # count RTP/UDP/IPv4 headers (40 B) per datagram in wire_bytes
  semlink up --loss 0.2 --burst 4 --spread 1   # bursty loss; each frame's datagrams a frame apart
  semlink up --datagram-overhead 40 --pack 4    # 4 frames a group of datagrams: a quarter of the headers each
  semlink up --max-restarts 2          # give up on the third crash in a minute
  semlink up --no-restart              # any exit stops everything
  SEMLINK_API_TOKEN=s3cret semlink up  # every /v1 route needs 'Authorization: Bearer s3cret'
  semlink up --token s3cret --grpc-token hop-s3cret   # and every gRPC hop needs its own token
With --token but no --grpc-token (nor $SEMLINK_GRPC_TOKEN), the gRPC hops get a token
made up for the run, so the link is no more open than the REST API; `up` says so at start.
Then open the live page it prints (the receiver's URL, e.g. http://127.0.0.1:8000/),
or, from another terminal:  semlink caption photo.jpg
"""


def add_link_options(parser: argparse.ArgumentParser) -> None:
    """Model, codec and channel flags shared by ``up`` and ``demo``."""
    parser.add_argument("--model", default=None,
                        help="preset, hub id or local directory (default: shapes-tiny if shipped, else tiny-random)")
    parser.add_argument("--codec", default=None,
                        help="codec name or checkpoint (default: learned if a trained one ships with the model, else q8)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    parser.add_argument("--dtype", default="auto", help="auto, float32, float16 or bfloat16 (default: auto)")
    parser.add_argument("--loss", type=probability, default=None, metavar="P", help="Bernoulli packet loss probability")
    parser.add_argument("--burst", type=burst_length, default=None, metavar="L",
                        help="with --loss: lose packets in bursts of L on average (Gilbert-Elliott) instead of "
                             "one at a time")
    parser.add_argument("--snr", type=float, default=None, metavar="DB",
                        help="channel SNR in dB (Es/N0 per BPSK symbol, AWGN): bit errors at the derived BER")
    parser.add_argument("--delay-ms", type=float, default=None, metavar="MS", help="delay channel_sim adds per frame")
    parser.add_argument("--jitter-ms", type=float, default=None, metavar="MS", help="uniform jitter around --delay-ms")
    parser.add_argument("--rate-kbps", type=float, default=None, metavar="KBPS", help="bandwidth cap (token bucket)")
    parser.add_argument("--seed", type=int, default=None, help="channel random seed")
    parser.add_argument("--datagram-overhead", type=parse_overhead, default=None, metavar="B",
                        help="transport bytes counted per datagram into wire_bytes: 0 the link as simulated "
                             "(default), 28 UDP/IPv4, 40 RTP/UDP/IPv4, 60 RTP/UDP/IPv6 (or udp-ipv4, rtp-ipv4, "
                             "rtp-ipv6); the page's channel panel changes it live")
    parser.add_argument("--spread", type=non_negative_int, default=0, metavar="S",
                        help="the transmitter sends datagram j of each frame S*j frames later, between the other "
                             "frames' (0 to 16; default 0: back to back): a loss burst then rarely takes a whole "
                             "frame; the receiver's frame deadline grows to cover the wait")
    parser.add_argument("--pack", type=positive_int, default=1, metavar="K",
                        help=f"the transmitter sends frames in groups of K (1 to {MAX_PACK}; default 1: every frame "
                             "alone), datagram j of a group carrying slice j of each: a frame pays 1/K of each "
                             "datagram's header, check and transport bytes, and waits for its group up to K - 1 "
                             "frame periods (not with --spread)")
    parser.add_argument("--ready-timeout", type=float, default=READY_TIMEOUT_S, metavar="S",
                        help=f"seconds to wait for all three to be ready (default: {READY_TIMEOUT_S:.0f})")
    add_token_option(parser, "each service then requires on its /v1 routes, and that its own calls send,")
    add_grpc_token_option(parser)
    parser.add_argument("--certs", default=None, metavar="DIR",
                        help="mutual TLS on both gRPC hops with the certificates `semlink certs DIR` wrote")


def register(sub) -> None:
    p = sub.add_parser("up", help="run the three services locally until Ctrl-C", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_link_options(p)
    p.add_argument("--host", default="127.0.0.1", help="interface the services listen on (default: 127.0.0.1)")
    p.add_argument("--free-ports", action="store_true", help="pick free ports instead of the contract's defaults")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.add_argument("--max-restarts", type=non_negative_int, default=RestartPolicy.max_per_minute, metavar="N",
                   help="restarts allowed per service in any minute before giving up "
                        f"(default: {RestartPolicy.max_per_minute})")
    p.add_argument("--no-restart", action="store_true",
                   help="do not restart a service that exits: stop everything (same as --max-restarts 0)")
    p.add_argument("--source", default="shapes", choices=["shapes", "folder", "video", "none"],
                   help="what the transmitter sends on its own, for the live page (default: shapes, the built-in "
                        "scenes); folder and video need --source-path; PUT /v1/source changes it while running")
    p.add_argument("--source-fps", type=float, default=1.0, metavar="FPS", help="source frame rate (default: 1)")
    p.add_argument("--source-path", default=None, metavar="PATH",
                   help="the folder source's folder, or the video source's file or rtsp:// URL")
    p.set_defaults(func=run)


def channel_settings(args) -> dict:
    """channel_sim's channel fields the flags ask for (only those given)."""
    values: dict = {}
    if args.burst is not None:  # add_link_options' flags, as --loss
        if not args.loss:
            raise ValueError("--burst L needs --loss P (above 0): the share of packets lost, in bursts of L")
        bursts = GilbertElliott.bursts(args.loss, args.burst)
        values.update(loss_model="gilbert_elliott", ge_p=bursts.p, ge_r=bursts.r)
    elif args.loss is not None:
        values["loss"] = args.loss
    if args.snr is not None:
        values["snr_db"] = args.snr
    if args.seed is not None:
        values["seed"] = args.seed
    for name in ("delay_ms", "jitter_ms", "rate_kbps", "datagram_overhead"):
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    return values


MADE_UP_GRPC_TOKEN = ("the gRPC hops require a token made up for this run (an API token is set but no "
                      "--grpc-token): a sender from outside `up` needs --grpc-token")


def grpc_token(args) -> str | None:
    """The token for both gRPC hops: ``--grpc-token``; else, when the REST API has a token, one made up for the
    run (a link left open beside a guarded API would take anyone's frames); else none (the open local demo)."""
    given = getattr(args, "grpc_token", None)
    if given or not getattr(args, "token", None):
        return given
    return secrets.token_urlsafe(24)


def link_config(args, ports: LinkPorts, host: str = "127.0.0.1", log_level: str = "info") -> LinkConfig:
    """The link the flags ask for, every name in it checked first (a service that cannot start never starts)."""
    model = args.model or best_builtin_model()
    if not 0 <= args.spread <= MAX_SPREAD:
        raise ValueError(f"--spread {args.spread}: give 0 to {MAX_SPREAD} frames")
    if not 1 <= args.pack <= MAX_PACK:
        raise ValueError(f"--pack {args.pack}: give 1 to {MAX_PACK} frames a group")
    if args.pack > 1 and args.spread:
        raise ValueError(f"--pack {args.pack} with --spread {args.spread}: the services pack or spread, not both yet "
                         "(semlink eval --pack K --spread S measures the two together); choose one")
    check_link(model, args.codec) if args.codec is not None else check_model(model)
    return LinkConfig(model=model, codec=args.codec or best_codec(model), device=args.device, dtype=args.dtype,
                      host=host, log_level=log_level, ports=ports, channel=channel_settings(args),
                      source=getattr(args, "source", "none"), source_fps=getattr(args, "source_fps", 1.0),
                      source_path=getattr(args, "source_path", None), api_token=getattr(args, "token", None),
                      grpc_token=grpc_token(args), spread=args.spread, pack=args.pack,
                      certs=str(Path(args.certs).resolve()) if getattr(args, "certs", None) else None)


def run(args) -> int:
    logging.getLogger("httpx").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    ports = LinkPorts.free(args.host) if args.free_ports else LinkPorts()
    config = link_config(args, ports, args.host, args.log_level)  # a mistyped name is the first thing said
    if busy := ports.busy(args.host):
        raise RuntimeError(f"port(s) {', '.join(map(str, busy))} already in use on {args.host}; "
                           "stop what holds them or pass --free-ports")
    policy = RestartPolicy(max_per_minute=0 if args.no_restart else args.max_restarts)
    link = LocalLink(config, sink=prefixed_sink(sys.stdout), ready_timeout=args.ready_timeout)
    supervisor = Supervisor(link, policy, report=lambda line: print(f"semlink up: {line}", flush=True))
    print(f"semlink up: model={config.model} codec={config.codec} device={config.device}"
          + (f" channel={config.channel}" if config.channel else ""), flush=True)
    if config.grpc_token and not args.grpc_token:
        print(f"semlink up: {MADE_UP_GRPC_TOKEN}", flush=True)
    with interrupt_on_stop_signals():
        try:
            link.start()
            for name in (RECEIVER, CHANNEL, TRANSMITTER):
                print(f"{name:<20} {link.urls[name]:<28} pid {link.pids[name]}", flush=True)
            print(f"live page: {page_line(config)}", flush=True)
            print(f"ready: send an image with  semlink caption IMAGE --transmitter {link.urls[TRANSMITTER]} "
                  f"--receiver {link.urls[RECEIVER]}   (Ctrl-C stops all three; {restarting(policy)})", flush=True)
            raise supervisor.run()
        except KeyboardInterrupt:
            print("stopping...", flush=True)
            codes = link.stop()
            print("stopped: " + ", ".join(stopped_line(name, code, supervisor.restarts[name])
                                          for name, code in codes.items()), flush=True)
            return 0 if all(stopped_cleanly(code) for code in codes.values()) else 1
        finally:
            link.stop()


def page_line(config: LinkConfig) -> str:
    """The live page's URL, and with an API token how to open it: the page reads the token from ``?token=``."""
    if not config.api_token:
        return config.page_url
    return f"{config.page_url}?token=TOKEN (TOKEN: the services' API token, --token or $SEMLINK_API_TOKEN)"


def restarting(policy: RestartPolicy) -> str:
    if policy.max_per_minute == 0:
        return "a service that exits stops all three"
    return f"a service that exits is restarted, at most {policy.max_per_minute} times a minute"


def stopped_line(name: str, code: int | None, restarts: int) -> str:
    """``"receiver_service"``, ``"channel_sim (exit 3)"``, ``"transmitter_service (restarted 2x)"``."""
    notes = ([] if stopped_cleanly(code) else [f"exit {code}"]) + ([f"restarted {restarts}x"] if restarts else [])
    return name + (f" ({', '.join(notes)})" if notes else "")
