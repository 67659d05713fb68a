"""docker-compose.yml and the Dockerfile checked against the code (no Docker engine needed).

Commands run modules that exist, every variable is a real setting of its service,
ports and healthchecks match the settings and the FastAPI routes, dependencies
wait for health, GPUs are reserved, and the CPU override really removes them.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("receiver_service", "channel_sim", "transmitter_service")
PREFIX = {"receiver_service": "SEMLINK_RX_", "channel_sim": "SEMLINK_CH_", "transmitter_service": "SEMLINK_TX_"}
GPU_SERVICES = ("receiver_service", "transmitter_service")
NOT_SETTINGS = {"HF_HOME"}  # read by huggingface_hub, not by the service
UPSTREAM = {"channel_sim": ("UPSTREAM", "receiver_service"), "transmitter_service": ("TARGET", "channel_sim")}
DEPENDS = {"channel_sim": "receiver_service", "transmitter_service": "channel_sim"}
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


class ComposeLoader(yaml.SafeLoader):
    """YAML with Compose's merge tags (``!reset``, ``!override``) kept as markers."""


RESET = "!reset"
ComposeLoader.add_constructor("!reset", lambda loader, node: RESET)  # Compose drops the value: so do we
ComposeLoader.add_constructor("!override", lambda loader, node: loader.construct_object(node, deep=True))


def load(name: str) -> dict:
    return yaml.load((ROOT / name).read_text(), Loader=ComposeLoader)


def defaults(value) -> str:
    """A Compose value with every ``${VAR:-default}`` replaced by its default (no variables set)."""
    return INTERPOLATION.sub(lambda m: m.group(2) or "", str(value))


def settings_class(service: str) -> type[BaseSettings]:
    module = importlib.import_module(f"{service}.settings")
    found = [v for v in vars(module).values()
             if isinstance(v, type) and issubclass(v, BaseSettings) and v.__module__ == module.__name__]
    assert len(found) == 1, f"{service}.settings should define one BaseSettings, found {found}"
    return found[0]


def setting(service: str, env: dict, name: str) -> str:
    """The effective value of setting ``name``: the compose environment's, else the class default."""
    key = PREFIX[service] + name.upper()
    if key in env:
        return defaults(env[key])
    return str(settings_class(service).model_fields[name].default)


@pytest.fixture(scope="module")
def compose() -> dict:
    return load("docker-compose.yml")


@pytest.fixture(scope="module")
def cpu() -> dict:
    return load("docker-compose.cpu.yml")


def test_the_three_services(compose):
    assert set(compose["services"]) == set(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_command_runs_an_importable_module(compose, service):
    command = compose["services"][service]["command"]
    assert command[:2] == ["python", "-m"], command
    assert command[2] == service
    assert importlib.util.find_spec(f"{service}.__main__") is not None, f"python -m {service} has no __main__"
    importlib.import_module(f"{service}.main")


@pytest.mark.parametrize("file", ["docker-compose.yml", "docker-compose.cpu.yml"])
@pytest.mark.parametrize("service", SERVICES)
def test_every_variable_is_a_setting_of_its_service(file, service):
    env = load(file)["services"][service].get("environment", {})
    assert isinstance(env, dict), "write environment as a mapping"
    fields = settings_class(service).model_fields
    for key, value in env.items():
        if key in NOT_SETTINGS:
            continue
        assert key.startswith(PREFIX[service]), f"{service}: {key} lacks the prefix {PREFIX[service]}"
        name = key.removeprefix(PREFIX[service]).lower()
        assert name in fields, f"{service}: {key} is not a setting (fields: {sorted(fields)})"
        annotation = fields[name].annotation
        if annotation in (int, float):
            annotation(defaults(value))


@pytest.mark.parametrize("service", SERVICES)
def test_ports_match_the_settings_defaults(compose, service):
    spec = compose["services"][service]
    env = spec["environment"]
    fields = settings_class(service).model_fields
    http = setting(service, env, "http_port")
    assert http == str(fields["http_port"].default), "compose should keep the contract's port"
    assert spec["ports"] == [f"{http}:{http}"]
    if "grpc_port" in fields:
        assert setting(service, env, "grpc_port") == str(fields["grpc_port"].default)
    assert defaults(env[PREFIX[service] + "HOST"]) == "0.0.0.0"


@pytest.mark.parametrize("service", list(UPSTREAM))
def test_each_service_points_at_the_next_hop(compose, service):
    name, upstream = UPSTREAM[service]
    env = compose["services"][service]["environment"]
    host, port = defaults(env[PREFIX[service] + name]).rsplit(":", 1)
    assert host == upstream
    assert port == setting(upstream, compose["services"][upstream]["environment"], "grpc_port")


def route_paths(routes, prefix: str = ""):
    """Every route's full path, looking inside routers that FastAPI keeps as included (FastAPI >= 0.16x)."""
    for route in routes:
        if getattr(route, "path", None) is not None:
            yield prefix + route.path
        router = getattr(route, "original_router", None)
        if router is not None:
            yield from route_paths(router.routes, prefix + route.include_context.prefix)


def app_routes(service: str) -> set[str]:
    app = importlib.import_module(f"{service}.main").create_app(settings_class(service)())
    return set(route_paths(app.routes))


@pytest.mark.parametrize("service", SERVICES)
def test_healthcheck_hits_a_real_ready_route(compose, service):
    spec = compose["services"][service]
    test = spec["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"], test
    url = urlparse(re.search(r"https?://[^'\"]+", test[3]).group(0))
    assert url.port == int(setting(service, spec["environment"], "http_port"))
    assert url.path == "/health/ready"
    assert url.path in app_routes(service)
    compile(test[3], "healthcheck", "exec")


def test_dependencies_wait_for_health(compose):
    for service, upstream in DEPENDS.items():
        assert compose["services"][service]["depends_on"] == {upstream: {"condition": "service_healthy"}}
    assert "depends_on" not in compose["services"]["receiver_service"]


@pytest.mark.parametrize("service", GPU_SERVICES)
def test_gpu_reserved_and_reset_by_the_cpu_override(compose, cpu, service):
    devices = compose["services"][service]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    assert cpu["services"][service]["deploy"] == RESET


def test_defaults_are_florence2_base_q8_with_a_hub_cache(compose):
    volumes = compose.get("volumes", {})
    for service in GPU_SERVICES:
        spec = compose["services"][service]
        prefix = PREFIX[service]
        assert defaults(spec["environment"][prefix + "MODEL"]) == "florence-community/Florence-2-base"
        assert defaults(spec["environment"][prefix + "CODEC"]) == "q8"
        cache = spec["environment"]["HF_HOME"]
        named = [v.split(":")[0] for v in spec["volumes"] if v.split(":")[1] == cache]
        assert named and named[0] in volumes, f"{service}: HF_HOME {cache} must be a named volume"


def test_cpu_override_runs_the_builtin_model_on_cpu(cpu):
    for service in GPU_SERVICES:
        env = cpu["services"][service]["environment"]
        assert defaults(env[PREFIX[service] + "MODEL"]) == "shapes-tiny"
        assert defaults(env[PREFIX[service] + "DEVICE"]) == "cpu"
    for service in SERVICES:
        args = cpu["services"][service]["build"]["args"]
        assert set(args) == {"INDEX_URL", "TORCH_INDEX_URL"} and all(defaults(v) == "" for v in args.values())


def test_no_package_registry_is_named_the_image_uses_pips_default_index():
    for name in ("Dockerfile", "docker-compose.yml", "docker-compose.cpu.yml"):
        text = (ROOT / name).read_text()
        assert not re.search(r"https?://(?!127\.0\.0\.1|localhost)", text), f"{name} names a host"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "ARG INDEX_URL=\n" in dockerfile and "ARG TORCH_INDEX_URL=\n" in dockerfile


def test_the_header_examples_are_accepted_by_channel_sim():
    """Every `-d '{...}'` body in docker-compose.yml's header is a channel change channel_sim takes (200)."""
    import asyncio
    import json

    import httpx

    from channel_sim.main import create_app
    from channel_sim.settings import ChannelSimSettings
    from semlink.launch.ports import free_port
    from tests.helpers.link import serving

    header = "".join(line for line in (ROOT / "docker-compose.yml").read_text().splitlines() if line.startswith("#"))
    bodies = [json.loads(b) for b in re.findall(r"-d '(\{.*?\})'", header)]
    assert bodies

    async def main():
        settings = ChannelSimSettings(upstream=f"127.0.0.1:{free_port()}", grpc_port=free_port())
        async with serving(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as client:
            return [await client.put("/v1/channel", json=body) for body in bodies]

    for response in asyncio.run(main()):
        assert response.status_code == 200, response.text


def test_dockerfile_installs_pinned_torch_before_the_project():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    spec = next(line for line in lines if line.startswith("ARG TORCH_SPEC="))
    pin = spec.split("=", 1)[1]
    assert re.fullmatch(r"torch==\d+\.\d+\.\d+", pin), f"torch must be pinned exactly, got {pin}"
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert f"torch=={pin.split('==')[1]}" in setup, "the image's torch should be the one scripts/setup.sh installs"
    torch_at = next(i for i, line in enumerate(lines) if "pip install" in line and "TORCH_SPEC" in line)
    project_at = next(i for i, line in enumerate(lines) if re.search(r"pip install (-r |.*\s\.(\s|$))", line))
    assert torch_at < project_at


def test_dockerfile_copies_what_exists_and_dockerignore_keeps_it():
    dockerfile = (ROOT / "Dockerfile").read_text()
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    for source in re.findall(r"^COPY\s+(\S+)\s+\S+$", dockerfile, re.MULTILINE):
        assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"
        assert source not in ignored, f".dockerignore drops {source}, which the Dockerfile copies"
    for service in SERVICES:
        assert f"COPY {service} " in dockerfile
