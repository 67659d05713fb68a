"""docs/security.md's examples, run: `semlink certs`, the three services' mutual-TLS commands (channel_sim really
started from its line, between peers configured by the other two), the curl over HTTPS, the Python health check
and, where grpcurl is installed, the grpcurl lines."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from channel_sim.settings import ChannelSimSettings
from receiver_service.settings import ReceiverSettings
from semlink.link import Backoff, FrameSender
from semlink.link.grpc_channel import LinkSecurity, secret
from semlink.link.grpc_server import LinkServer
from semlink.http.serve import parse_settings
from semlink.launch.ports import free_ports
from tests.helpers.link import RecordingReceiver, make_frame, make_session
from semlink.security.tls import client_tls, server_tls
from semlink.v2 import semlink_pb2_grpc as pb_grpc
from transmitter_service.settings import TransmitterSettings

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "security.md").read_text()
BIN = Path(sys.executable).parent


def shell_lines() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", DOC, re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def python_block() -> str:
    (block,) = re.findall(r"```python\n(.*?)```", DOC, re.S)
    return block


def command(prefix: str) -> list[str]:
    """The first documented command line starting with ``prefix``, split as a shell would."""
    line = next(line for line in shell_lines() if line.startswith(prefix))
    return shlex.split(line)


def parsed(module: str):
    argv = command(f"python -m {module} ")[3:]
    if module == "receiver_service":
        return ReceiverSettings(_cli_parse_args=argv)
    cls = ChannelSimSettings if module == "channel_sim" else TransmitterSettings
    return parse_settings(cls, argv, f"python -m {module}", "")


def test_the_documented_commands_configure_mutual_tls_with_tokens(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = command("semlink certs ")
    assert subprocess.run([str(BIN / argv[0]), *argv[1:]], timeout=60).returncode == 0
    rx, ch, tx = parsed("receiver_service"), parsed("channel_sim"), parsed("transmitter_service")
    assert server_tls(rx.tls_cert, rx.tls_key, rx.tls_ca, rx.tls_client_auth).mutual
    assert server_tls(ch.tls_cert, ch.tls_key, ch.tls_ca, ch.tls_client_auth).mutual
    for settings in (rx, ch, tx):
        assert settings.https and Path(settings.tls_cert).exists() and Path(settings.tls_key).exists()
    assert client_tls(ch.tls_ca, ch.tls_cert, ch.tls_key) and client_tls(tx.tls_ca, tx.tls_cert, tx.tls_key)
    assert secret(tx.upstream_token) == secret(ch.grpc_token) == "hop-1" and secret(ch.upstream_token) == "hop-2"


def test_channel_sim_from_its_documented_line_carries_a_frame_and_answers_curl(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = command("semlink certs ")
    subprocess.run([str(BIN / argv[0]), *argv[1:]], check=True, timeout=60)
    rx, tx = parsed("receiver_service"), parsed("transmitter_service")
    curl = command("curl ")

    async def main():
        receiver = await RecordingReceiver(tls=server_tls(rx.tls_cert, rx.tls_key, rx.tls_ca, rx.tls_client_auth),
                                           token="hop-2").start()
        grpc_port, http_port = free_ports(2)
        curl[-1] = curl[-1].replace(":8002/", f":{http_port}/")
        line = command("python -m channel_sim ")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, *line[1:], "--host", "127.0.0.1", "--grpc-port", str(grpc_port), "--http-port",
            str(http_port), "--upstream", receiver.target, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            for _ in range(300):
                done = await asyncio.create_subprocess_exec(*curl, "-sf", stdout=subprocess.PIPE,
                                                            stderr=subprocess.DEVNULL)
                out, _ = await done.communicate()
                if done.returncode == 0:
                    break
                assert proc.returncode is None, (await proc.stderr.read()).decode()[-2000:]
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("curl --cacert never got channel_sim's /health/ready over HTTPS")
            assert b'"ready":true' in out.replace(b" ", b"")
            security = LinkSecurity.of_client(tx)
            async with FrameSender(f"localhost:{grpc_port}", backoff=Backoff(0.05, 0.4), session=make_session(),
                                   security=security) as sender:
                outcome = await asyncio.wait_for((await sender.submit(make_frame(0))).outcome, 20)
            assert outcome.status == "ok" and len(receiver.frames) == 1
        finally:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 15)
            await receiver.stop(None)
    if shutil.which("curl") is None:
        pytest.skip("curl not installed: apt-get install curl")
    asyncio.run(asyncio.wait_for(main(), 90))


@pytest.mark.parametrize("command_name", ["up", "demo"])
def test_the_launcher_lines_ask_for_mutual_tls(command_name, tmp_path, monkeypatch):
    from semlink.cli.main import build_parser
    from semlink.cli.up import link_config
    from semlink.launch.ports import LinkPorts

    monkeypatch.chdir(tmp_path)
    argv = command(f"semlink {command_name} --certs")[1:]
    args = build_parser(command_name).parse_args(argv)
    config = link_config(args, LinkPorts())
    assert config.certs == str(tmp_path / "certs")
    assert config.environment("receiver_service")["SEMLINK_RX_TLS_CLIENT_AUTH"] == "true"
    assert config.environment("transmitter_service")["SEMLINK_TX_TLS_CA"] == str(tmp_path / "certs" / "ca.pem")


async def _plaintext_server(ready=True):
    server = LinkServer(ready=lambda: ready)
    pb_grpc.add_FeatureLinkServicer_to_server(RecordingReceiver(), server.server)
    port = server.bind("127.0.0.1:0")
    await server.start()
    return server, port


def test_the_python_health_check_prints_serving():
    async def main():
        server, port = await _plaintext_server()
        try:
            code = python_block().replace("127.0.0.1:50051", f"127.0.0.1:{port}")
            done = await asyncio.create_subprocess_exec(sys.executable, "-c", code, stdout=subprocess.PIPE)
            out, _ = await asyncio.wait_for(done.communicate(), 30)
            assert done.returncode == 0 and out.decode().strip() == "SERVING"
        finally:
            await server.stop(None)
    asyncio.run(main())


def test_the_plaintext_grpcurl_lines():
    grpcurl = shutil.which("grpcurl")
    if grpcurl is None:
        pytest.skip("grpcurl not installed (a Go tool, not packaged in Debian 12): its documented lines are not run; "
                    "reflection and health are tested from Python")

    async def main():
        server, port = await _plaintext_server()
        try:
            outputs = []
            for line in [l for l in shell_lines() if l.startswith("grpcurl -plaintext")]:
                argv = [a.replace("127.0.0.1:50051", f"127.0.0.1:{port}") for a in shlex.split(line)]
                done = await asyncio.create_subprocess_exec(grpcurl, *argv[1:], stdout=subprocess.PIPE)
                outputs.append((await done.communicate())[0].decode())
                assert done.returncode == 0
            assert "semlink.v2.FeatureLink" in outputs[0] and "SERVING" in outputs[1]
        finally:
            await server.stop(None)
    asyncio.run(main())
