"""TLS and mutual TLS on a FeatureLink hop with real certificates: the right client is accepted; a wrong or
absent certificate, a wrong CA or a wrong token is refused, with the reason in the sender's status and the logs."""

from __future__ import annotations

import asyncio
import ssl

import grpc
import httpx
import pytest

from semlink.link import Backoff, FrameSender
from semlink.link.grpc_channel import LinkSecurity, link_channel
from semlink.http.serve import https_options
from tests.helpers.link import RecordingReceiver, make_frame, make_session
from semlink.security.tls import ClientTls, ServerTls, TlsConfigError, client_tls, server_tls

FAST = Backoff(initial_s=0.05, max_s=0.4)


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def server(pki, mutual=True) -> ServerTls:
    rx = pki.services["receiver_service"]
    return ServerTls(str(rx.cert), str(rx.key), str(pki.ca) if mutual else None)


def client(ca, cert_of=None, token="") -> LinkSecurity:
    """Trusting ``ca``; presenting ``cert_of``'s transmitter certificate (a PKI) when given."""
    tx = cert_of.services["transmitter_service"] if cert_of else None
    return LinkSecurity(ClientTls(str(ca), str(tx.cert) if tx else None, str(tx.key) if tx else None), token)


async def send_one(receiver_tls, security, token="", wait_s=2.0):
    """Start a receiver, send one frame with ``security``; returns (sender stats, outcome or None, receiver)."""
    receiver = await RecordingReceiver(tls=receiver_tls, token=token).start()
    sender = FrameSender(f"127.0.0.1:{receiver.port}", backoff=FAST, session=make_session(), security=security)
    await sender.start()
    try:
        delivery = await sender.submit(make_frame(0))
        try:
            outcome = await asyncio.wait_for(asyncio.shield(delivery.outcome), wait_s)
        except TimeoutError:
            outcome = None
        if outcome is None:  # give the sender time to learn why it cannot connect
            for _ in range(100):
                if sender.link_error or sender.refusal:
                    break
                await asyncio.sleep(0.05)
        return sender.stats(), outcome, receiver
    finally:
        await sender.close(grace_s=0)
        await receiver.stop(None)


def test_mutual_tls_accepts_the_right_client(pki):
    stats, outcome, receiver = run(send_one(server(pki), client(pki.ca, pki)))
    assert outcome.status == "ok" and len(receiver.frames) == 1
    assert stats["link_error"] is None and stats["session_refused"] is None


def test_tls_without_client_auth_needs_no_client_certificate(pki):
    _, outcome, _ = run(send_one(server(pki, mutual=False), client(pki.ca)))
    assert outcome.status == "ok"


@pytest.mark.parametrize("who", ["no certificate", "a stranger's certificate"])
def test_mutual_tls_refuses_a_client_without_a_trusted_certificate(pki, stranger, who, capfd):
    security = client(pki.ca) if who == "no certificate" else client(pki.ca, stranger)
    stats, outcome, receiver = run(send_one(server(pki), security))
    assert outcome is None and receiver.frames == [] and receiver.streams == 0
    assert not stats["connected"] and stats["sent"] == 0 and stats["queue_depth"] == 1
    assert "Socket closed" in stats["link_error"]
    assert "client certificate signed by its tls_ca" in stats["link_error"]
    server_log = capfd.readouterr().err  # grpc's own log on the server side says exactly why
    assert ("PEER_DID_NOT_RETURN_A_CERTIFICATE" if who == "no certificate"
            else "CERTIFICATE_VERIFY_FAILED") in server_log


def test_a_client_trusting_another_ca_refuses_the_server(pki, stranger):
    stats, outcome, receiver = run(send_one(server(pki), client(stranger.ca, pki)))
    assert outcome is None and receiver.streams == 0
    assert "CERTIFICATE_VERIFY_FAILED" in stats["link_error"]
    assert stats["session_refused"].startswith("tls: ") and "handshake" in stats["session_refused"].lower()


def test_a_plaintext_client_is_told_the_server_may_want_tls(pki):
    stats, outcome, _ = run(send_one(server(pki, mutual=False), LinkSecurity()))
    assert outcome is None
    assert "if it serves TLS, set tls_ca" in stats["link_error"]


def test_the_right_token_is_accepted(pki):
    _, outcome, receiver = run(send_one(server(pki), client(pki.ca, pki, token="s3cret"), token="s3cret"))
    assert outcome.status == "ok" and len(receiver.frames) == 1


def test_a_token_works_without_tls_too():
    _, outcome, _ = run(send_one(None, LinkSecurity(token="s3cret"), token="s3cret"))
    assert outcome.status == "ok"


@pytest.mark.parametrize("token, reason", [("", "requires a token"), ("guess", "wrong bearer token")])
def test_a_missing_or_wrong_token_is_refused_like_a_session(pki, token, reason, caplog):
    stats, outcome, receiver = run(send_one(server(pki), client(pki.ca, pki, token=token), token="s3cret"))
    assert receiver.frames == []
    assert outcome.status == "rejected" and outcome.detail.startswith("session refused: unauthenticated: ")
    assert reason in outcome.detail
    assert stats["session_refused"].startswith("unauthenticated: ") and reason in stats["session_refused"]
    assert any("refused a call" in r.message and reason in r.message for r in caplog.records)  # the server's log


def test_the_compose_service_names_are_in_the_certificates(pki):
    """In Docker channel_sim dials receiver_service:50051: the name it checks is the compose service name."""
    async def main():
        receiver = await RecordingReceiver(tls=server(pki)).start()
        channel = link_channel(f"127.0.0.1:{receiver.port}", client(pki.ca, pki),
                               options=[("grpc.ssl_target_name_override", "receiver_service")])
        try:
            await asyncio.wait_for(channel.channel_ready(), 5)
        finally:
            await channel.close()
            await receiver.stop(None)
    run(main())


def test_tls_settings_that_cannot_work_say_why(tmp_path, pki):
    assert server_tls(None, None, str(pki.ca), False) is None and client_tls(None, "c", "k") is None
    with pytest.raises(TlsConfigError, match="tls_cert and tls_key go together"):
        server_tls("cert.pem", None, None, False)
    with pytest.raises(TlsConfigError, match="tls_client_auth needs tls_ca"):
        server_tls("cert.pem", "key.pem", None, True)
    with pytest.raises(TlsConfigError, match="tls_client_auth needs tls_cert"):
        server_tls(None, None, str(pki.ca), True)
    with pytest.raises(TlsConfigError, match="go together"):
        client_tls(str(pki.ca), "cert.pem", None)
    with pytest.raises(TlsConfigError, match="tls_cert: cannot read"):
        ServerTls(str(tmp_path / "missing.pem"), str(pki.ca)).credentials()
    (tmp_path / "junk.pem").write_text("not a certificate")
    with pytest.raises(TlsConfigError, match="not a PEM file"):
        ClientTls(str(tmp_path / "junk.pem")).credentials()


def test_rest_over_https_with_the_service_certificate(pki):
    """``https`` serves the REST API with tls_cert/tls_key (uvicorn's ssl options); clients verify it with the CA."""
    import uvicorn

    from channel_sim.main import create_app
    from channel_sim.settings import ChannelSimSettings
    from semlink.launch.ports import free_port

    ch = pki.services["channel_sim"]
    settings = ChannelSimSettings(grpc_port=free_port(), upstream="127.0.0.1:1", https=True,
                                  tls_cert=str(ch.cert), tls_key=str(ch.key))
    assert https_options(ChannelSimSettings(https=False)) == {}
    with pytest.raises(ValueError, match="https needs tls_cert and tls_key"):
        https_options(ChannelSimSettings(https=True))

    async def main():
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning",
                                               loop="asyncio", **https_options(settings)))
        task = asyncio.create_task(server.serve())
        try:
            while not server.started:
                assert not task.done(), "uvicorn exited during startup"
                await asyncio.sleep(0.02)
            async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(pki.ca))) as good:
                reply = await good.get(f"https://127.0.0.1:{port}/health/live")
                assert reply.status_code == 200
            async with httpx.AsyncClient() as untrusting:  # the system's CAs never signed it
                with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
                    await untrusting.get(f"https://127.0.0.1:{port}/health/live")
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, 10)
    run(main())
