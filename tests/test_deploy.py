"""The scale-out deployment checked against the code: docker-compose.scale.yml, deploy/nginx and deploy/k8s.

Every variable is a real setting of its service, ports agree between settings,
containers, Services, the load balancer and the next hop, probes hit real routes,
receivers share one store that the files start, GPUs are requested, and no image
names a registry host. ``kubectl kustomize`` builds the manifests where kubectl is installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from test_compose import PREFIX, RESET, ROOT, app_routes, defaults, load, settings_class

K8S = ROOT / "deploy" / "k8s"
NGINX = ROOT / "deploy" / "nginx" / "receivers.conf"
COMMAND_SERVICE = {"receiver_service": "receiver_service", "channel_sim": "channel_sim",
                   "transmitter_service": "transmitter_service"}
GPU = "nvidia.com/gpu"


def merge(base, override):
    """Compose's merge of two files: mappings merge key by key, other values (lists too, for ports) are
    replaced by the override's, ``!reset`` removes. Lists Compose appends (ports) are reset in our files."""
    if override == RESET:
        return None
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            merged = merge(base.get(key), value)
            if merged is None:
                out.pop(key, None)
            else:
                out[key] = merged
        return out
    return override


def stack(*files: str) -> dict:
    result: dict = {}
    for name in files:
        result = merge(result, load(name))
    return result


def check_settings(service: str, env: dict) -> None:
    fields = settings_class(service).model_fields
    for key, value in env.items():
        if key == "HF_HOME":
            continue
        assert key.startswith(PREFIX[service]), f"{service}: {key} lacks the prefix {PREFIX[service]}"
        name = key.removeprefix(PREFIX[service]).lower()
        assert name in fields, f"{service}: {key} is not a setting"
        settings_class(service)(**{name: defaults(value)})  # the value is valid for the setting


def no_registry(image: str) -> None:
    first = image.split("/")[0]
    assert "/" not in image or not re.search(r"[.:]|^localhost$", first), f"{image} names a registry host"


# --- compose ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scaled() -> dict:
    return stack("docker-compose.yml", "docker-compose.scale.yml")


def test_scale_override_variables_are_settings():
    for service, spec in load("docker-compose.scale.yml")["services"].items():
        if service in PREFIX:
            check_settings(service, spec.get("environment", {}))


@pytest.mark.parametrize("files", [("docker-compose.yml", "docker-compose.scale.yml"),
                                   ("docker-compose.yml", "docker-compose.cpu.yml", "docker-compose.scale.yml")])
def test_receivers_are_replicas_behind_the_balancer(files):
    services = stack(*files)["services"]
    receiver = services["receiver_service"]
    assert int(defaults(receiver["deploy"]["replicas"])) >= 2
    assert "ports" not in receiver, "replicas cannot all publish :8000; the balancer does"
    http = receiver["environment"].get("SEMLINK_RX_HTTP_PORT", "8000")
    assert services["receivers_lb"]["ports"] == [f"{http}:{http}"]
    assert services["receivers_lb"]["depends_on"]["receiver_service"]["condition"] == "service_healthy"
    mount = services["receivers_lb"]["volumes"][0].split(":")
    assert (ROOT / mount[0]).resolve() == NGINX and mount[1] == "/etc/nginx/conf.d/default.conf"


def test_the_store_is_started_and_shared(scaled):
    services = scaled["services"]
    url = urlparse(defaults(services["receiver_service"]["environment"]["SEMLINK_RX_STORE"]))
    assert url.scheme == "redis" and url.hostname in services and url.port == 6379
    store = services[url.hostname]
    assert "--save" in store["command"] and store["healthcheck"]["test"][1:] == ["valkey-cli", "ping"]
    assert services["receiver_service"]["depends_on"][url.hostname]["condition"] == "service_healthy"


def test_the_channel_balances_over_every_receiver(scaled):
    env = scaled["services"]["channel_sim"]["environment"]
    target = defaults(env["SEMLINK_CH_UPSTREAM"])
    assert target == f"dns:///receiver_service:{scaled['services']['receiver_service']['environment']['SEMLINK_RX_GRPC_PORT']}"


def test_the_single_receiver_default_is_unchanged():
    services = load("docker-compose.yml")["services"]
    assert set(services) == {"receiver_service", "channel_sim", "transmitter_service"}
    assert services["receiver_service"]["ports"] == ["8000:8000"]


def test_nginx_forwards_to_the_receivers_rest_port(scaled):
    conf = NGINX.read_text()
    http = scaled["services"]["receiver_service"]["environment"]["SEMLINK_RX_HTTP_PORT"]
    assert re.search(rf"server receiver_service:{http};", conf)
    assert re.search(rf"listen {http};", conf) and "proxy_pass http://receivers;" in conf
    assert "proxy_buffering off;" in conf  # /v1/events streams
    body = settings_class("receiver_service").model_fields["max_request_bytes"].default
    limit = re.search(r"client_max_body_size (\d+)m;", conf)
    assert limit and int(limit.group(1)) << 20 >= body, "nginx must not refuse bodies the receiver accepts"


def test_no_image_names_a_registry():
    for name in ("docker-compose.yml", "docker-compose.cpu.yml", "docker-compose.scale.yml"):
        for spec in load(name)["services"].values():
            if "image" in spec:
                no_registry(defaults(spec["image"]))
    for doc in manifests():
        for container in containers(doc):
            no_registry(container["image"])


# --- kubernetes ------------------------------------------------------------------------------------
def manifests() -> list[dict]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    docs = []
    for name in kustomization["resources"]:
        docs += [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]
    return docs


def containers(doc: dict) -> list[dict]:
    return doc["spec"]["template"]["spec"]["containers"] if doc["kind"] == "Deployment" else []


def by_kind(kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in manifests() if d["kind"] == kind}


def semlink_containers() -> dict[str, dict]:
    """service package -> its container (the one running ``python -m <service>``)."""
    found = {}
    for doc in by_kind("Deployment").values():
        for c in containers(doc):
            if c.get("command", [])[:2] == ["python", "-m"]:
                found[c["command"][2]] = c
    return found


def env_of(container: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", [])}


def test_every_manifest_file_is_listed_and_every_service_has_a_deployment():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(semlink_containers()) == set(COMMAND_SERVICE)


@pytest.mark.parametrize("service", list(COMMAND_SERVICE))
def test_k8s_env_ports_and_probes_match_the_code(service):
    container = semlink_containers()[service]
    env = env_of(container)
    check_settings(service, env)
    settings = settings_class(service)(**{k.removeprefix(PREFIX[service]).lower(): v for k, v in env.items()
                                          if k.startswith(PREFIX[service])})
    assert settings.host == "0.0.0.0"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["http"] == settings.http_port
    if hasattr(settings, "grpc_port"):
        assert ports["grpc"] == settings.grpc_port
    routes = app_routes(service)
    for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
        probe = container.get(kind)
        if probe is None:
            continue
        assert probe["httpGet"]["port"] == "http" and probe["httpGet"]["path"] in routes
        assert probe["httpGet"]["path"].startswith("/health/")
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"


def test_services_select_deployments_and_name_their_ports():
    deployments = by_kind("Deployment")
    for name, svc in by_kind("Service").items():
        targets = [d for d in deployments.values()
                   if svc["spec"]["selector"].items() <= d["spec"]["template"]["metadata"]["labels"].items()]
        assert len(targets) == 1, f"Service {name} selects {len(targets)} Deployments"
        assert targets[0]["spec"]["selector"]["matchLabels"] == targets[0]["spec"]["template"]["metadata"]["labels"]
        named = {p["name"] for c in containers(targets[0]) for p in c["ports"]}
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in named, f"Service {name} targets a port no container names"


def service_port(name: str, port_name: str) -> int:
    return next(p["port"] for p in by_kind("Service")[name]["spec"]["ports"] if p["name"] == port_name)


def test_receivers_share_the_store_and_get_gpus():
    receiver = by_kind("Deployment")["semlink-receiver"]
    assert receiver["spec"]["replicas"] >= 2
    env = env_of(semlink_containers()["receiver_service"])
    url = urlparse(env["SEMLINK_RX_STORE"])
    assert url.scheme == "redis" and url.port == service_port(url.hostname, "redis")
    for service in ("receiver_service", "transmitter_service"):
        assert semlink_containers()[service]["resources"]["limits"][GPU] == 1


def test_the_channel_reaches_every_receiver_pod_and_the_transmitter_the_channel():
    services = by_kind("Service")
    target = env_of(semlink_containers()["channel_sim"])["SEMLINK_CH_UPSTREAM"]
    host, port = target.removeprefix("dns:///").rsplit(":", 1)
    assert target.startswith("dns:///") and services[host]["spec"]["clusterIP"] == "None"
    assert int(port) == service_port(host, "grpc") == settings_class("receiver_service")().grpc_port
    assert "None" != services["semlink-receiver"]["spec"].get("clusterIP")
    host, port = env_of(semlink_containers()["transmitter_service"])["SEMLINK_TX_TARGET"].rsplit(":", 1)
    assert int(port) == service_port(host, "grpc")


def test_kustomize_builds_the_manifests():
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl not installed: apt-get install kubectl (or see kubernetes.io/docs/tasks/tools)")
    built = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    kinds = sorted(d["kind"] for d in yaml.safe_load_all(built.stdout))
    assert kinds == sorted(d["kind"] for d in manifests())


# --- docs/scale-out.md ------------------------------------------------------------------------------
DOC = ROOT / "docs" / "scale-out.md"


def doc_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", DOC.read_text(), re.S)
    return [line.split("  #")[0].strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_every_compose_and_kubectl_example_names_real_files():
    commands = doc_commands()
    compose = [c for c in commands if "docker compose" in c]
    assert compose and any("docker-compose.scale.yml" in c for c in compose)
    for command in compose:
        for name in re.findall(r"-f (\S+)", command):
            assert (ROOT / name).is_file(), f"{command}: no {name}"
        for var in re.findall(r"\b(SEMLINK_\w+)=", command):
            assert var in (ROOT / "docker-compose.scale.yml").read_text() + (ROOT / "docker-compose.yml").read_text()
    kubectl = [c for c in commands if c.startswith("kubectl")]
    assert "kubectl apply -k deploy/k8s/" in kubectl
    deployments = {f"deployment/{name}" for name in by_kind("Deployment")}
    for command in kubectl:
        for target in re.findall(r"(deployment/[\w-]+)", command):
            assert target in deployments, command


def test_every_bench_example_parses():
    from semlink.cli.main import build_parser

    bench = [c for c in doc_commands() if c.startswith("semlink bench")]
    assert {c.split()[2] for c in bench} >= {"receiver", "proxy", "stages", "scaling"}
    parser = build_parser("bench")
    for command in bench:
        args = parser.parse_args(command.split()[1:])
        assert callable(args.func), command


def test_every_store_setting_the_doc_names_exists():
    fields = settings_class("receiver_service").model_fields
    for var in set(re.findall(r"SEMLINK_RX_\w+", DOC.read_text())):
        assert var.removeprefix("SEMLINK_RX_").lower() in fields, var


def test_the_python_example_runs(tmp_path, monkeypatch):
    """The q8 ``min_saving=0`` recipe writes a codec that loads back with that config (run as the doc shows it)."""
    from semlink.runtime import load_codec_for, load_model

    [block] = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    monkeypatch.chdir(tmp_path)
    exec(compile(block, str(DOC), "exec"), {})
    codec = load_codec_for(load_model("base-random"), str(tmp_path / "q8-always-zstd.safetensors"))
    assert codec.codec_id == "q8" and codec.config.min_saving == 0.0
