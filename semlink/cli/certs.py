"""``semlink certs DIR``: a development CA and a certificate for each service, for TLS and mutual TLS."""

from __future__ import annotations

import argparse

from semlink.security.certs import SERVICES, make_dev_pki

HELP = """\
Writes a development certificate authority (ca.pem, ca-key.pem) and, for each
service, a certificate and key (receiver_service.pem, receiver_service-key.pem, ...)
valid for localhost, 127.0.0.1, ::1 and the service's compose name, usable as
server and client certificate. For development and tests; deploy with your own CA.

Mutual TLS on both gRPC hops, locally (every flag is also SEMLINK_RX_/CH_/TX_ + NAME):
  semlink certs certs
  python -m receiver_service --tls-cert certs/receiver_service.pem \\
      --tls-key certs/receiver_service-key.pem --tls-ca certs/ca.pem --tls-client-auth
  python -m channel_sim --tls-cert certs/channel_sim.pem --tls-key certs/channel_sim-key.pem \\
      --tls-ca certs/ca.pem --tls-client-auth
  python -m transmitter_service --tls-cert certs/transmitter_service.pem \\
      --tls-key certs/transmitter_service-key.pem --tls-ca certs/ca.pem
Docker: docker compose -f docker-compose.yml -f docker-compose.secure.yml up (see docs/security.md).
"""


def register(sub) -> None:
    p = sub.add_parser("certs", help="make a development CA and certificates for the three services",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("directory", help="where to write the files (created if missing)")
    p.add_argument("--host", action="append", default=[], metavar="NAME",
                   help="another DNS name or IP address every certificate is valid for (repeatable)")
    p.add_argument("--days", type=int, default=825, help="validity in days (default: 825)")
    p.add_argument("--force", action="store_true", help="replace files already in DIRECTORY")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.days < 1:
        raise ValueError(f"--days must be at least 1, got {args.days}")
    pki = make_dev_pki(args.directory, SERVICES, extra_hosts=args.host, days=args.days, overwrite=args.force)
    print(f"CA:   {pki.ca} (key {pki.ca_key}: keep it private)")
    for cert in pki.services.values():
        print(f"{cert.name + ':':21s} {cert.cert}  {cert.key}")
    return 0
