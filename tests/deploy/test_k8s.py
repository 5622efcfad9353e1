"""deploy/k8s: renders, is valid for a pinned Kubernetes (strict), and agrees with the app.

The objects come from scripts/render_k8s.py (compared with `kubectl kustomize` where a kubectl is
on PATH). The app's side is read from the app itself (service.main.app, service.settings), from
the Dockerfile (port, the CLI it runs, cache folders) and service/cli.py (graceful timeout); the
Ingress's choices from the nginx configuration that docker-compose and scripts/topology.py use.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import math
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from fastapi.testclient import TestClient

from service import cli
from service.main import app
from service.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
PREFIX = "BACKPROP_"
Object = dict[str, Any]


def _load_renderer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("render_k8s", ROOT / "scripts" / "render_k8s.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render_k8s = _load_renderer()


# --- what the Dockerfile says -------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the final stage, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    stages = re.split(r"^FROM .*$", joined, flags=re.MULTILINE)
    result = []
    for line in stages[-1].splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def image_port() -> int:
    (port,) = [int(rest.split("/")[0]) for word, rest in _instructions() if word == "EXPOSE"]
    return port


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in _instructions():
        if word == "ENV":
            env.update(part.split("=", 1) for part in shlex.split(rest))  # type: ignore[misc]
    return env


def image_workdir() -> str:
    return [rest for word, rest in _instructions() if word == "WORKDIR"][-1]


def graceful_timeout() -> int:
    """The seconds the server the image's CMD starts gives in-flight requests after SIGTERM."""
    (cmd,) = [json.loads(rest) for word, rest in _instructions() if word == "CMD"]
    assert cmd[0] == "backprop-service", "the image's CMD does not start the service's CLI"
    return int(cli.server_options("0.0.0.0", image_port(), 1)["workers_kill_timeout"])


# --- the rendered objects -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def objects() -> list[Object]:
    return render_k8s.render(K8S)  # type: ignore[no-any-return]


def one(objects: list[Object], kind: str) -> Object:
    (obj,) = [o for o in objects if o["kind"] == kind]
    return obj


def pod_spec(objects: list[Object]) -> Object:
    return one(objects, "Deployment")["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def app_container(objects: list[Object]) -> Object:
    (container,) = pod_spec(objects)["containers"]
    return container  # type: ignore[no-any-return]


def example_secret() -> Object:
    (secret,) = render_k8s.load_documents(K8S / "secret.example.yaml")
    return secret  # type: ignore[no-any-return]


def cpu_cores(quantity: str) -> float:
    return int(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def pod_environment(objects: list[Object]) -> dict[str, str]:
    """The app container's environment as the kubelet would make it (example Secret's key)."""
    container = app_container(objects)
    configmaps = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ConfigMap"}
    secret = example_secret()
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(configmaps[source["configMapRef"]["name"]]["data"])
    for var in container.get("env", []):
        ref = var.get("valueFrom", {})
        if "value" in var:
            env[var["name"]] = var["value"]
        elif "secretKeyRef" in ref:
            assert ref["secretKeyRef"]["name"] == secret["metadata"]["name"]
            env[var["name"]] = secret["stringData"][ref["secretKeyRef"]["key"]]
        elif "resourceFieldRef" in ref:
            field = ref["resourceFieldRef"]
            assert field["containerName"] == container["name"]
            assert (field["resource"], field["divisor"]) == ("limits.cpu", "1")
            env[var["name"]] = str(math.ceil(cpu_cores(container["resources"]["limits"]["cpu"])))
        else:
            raise AssertionError(f"{var['name']}: a source this test does not resolve")
    return env


def settings_from(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Settings:
    """Settings as a process with exactly `env` (of the BACKPROP_ variables) reads them."""
    for name in [*Settings.model_fields]:
        monkeypatch.delenv(PREFIX + name.upper(), raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


# --- rendering and validation ---------------------------------------------------------------------


def test_the_renderer_makes_what_kubectl_kustomize_makes(objects: list[Object]) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("no kubectl on PATH to compare the renderer with")
    out = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    theirs = [doc for doc in yaml.safe_load_all(out) if doc is not None]

    def key(obj: Object) -> tuple[str, str]:
        return obj["kind"], obj["metadata"]["name"]

    assert sorted(objects, key=key) == sorted(theirs, key=key)


def test_the_renderer_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "namePrefix: staging-\nresources: []\n"
    )
    with pytest.raises(render_k8s.RenderError, match="namePrefix"):
        render_k8s.render(tmp_path)


def test_the_image_is_set_from_the_kustomization(objects: list[Object]) -> None:
    spec = pod_spec(objects)
    images = {c["image"] for c in spec["initContainers"] + spec["containers"]}
    assert images == {"backprop-service:latest"}
    assert render_k8s.split_image("r.example:5000/a/b:1.0@sha256:ab") == (
        "r.example:5000/a/b",
        "1.0",
        "sha256:ab",
    )


@pytest.mark.parametrize(
    "version", [render_k8s.KUBERNETES_VERSION, kubernetes_validate.latest_version()]
)
def test_every_object_is_valid_strict(objects: list[Object], version: str) -> None:
    render_k8s.validate([*objects, example_secret()], version)


def test_strict_validation_rejects_an_unknown_field(objects: list[Object]) -> None:
    deployment = copy.deepcopy(one(objects, "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFS"] = True
    with pytest.raises(kubernetes_validate.ValidationError, match="readOnlyRootFS"):
        render_k8s.validate([deployment])


# --- agreement with the app -----------------------------------------------------------------------


def mounted_presets(objects: list[Object], folder: Path) -> Path:
    """The presets ConfigMap as the kubelet mounts it: one file per key, in `folder`."""
    (presets,) = [o for o in objects if o["metadata"]["name"] == "backprop-graph-presets"]
    for name, text in (presets.get("data") or {}).items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture
def pod_settings(
    objects: list[Object], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Settings]:
    """service.main.app run with the pod's settings (API keys on), lifespan included.

    The presets folder is the ConfigMap mounted in tmp_path (the pod's path does not exist here),
    and the process's settings cache is cleared on both sides, so that whatever reads
    get_settings() directly sees the pod's environment and no later test inherits it.
    """
    env = pod_environment(objects)
    env["BACKPROP_GRAPHS_DIR"] = str(mounted_presets(objects, tmp_path))
    settings = settings_from(monkeypatch, env)
    get_settings.cache_clear()
    app.dependency_overrides[get_settings] = lambda: settings
    try:
        yield settings
    finally:
        del app.dependency_overrides[get_settings]
        monkeypatch.undo()
        get_settings.cache_clear()


def test_probe_paths_answer_200_without_a_key(
    objects: list[Object], pod_settings: Settings
) -> None:
    container = app_container(objects)
    probes = [container[p]["httpGet"] for p in ("startupProbe", "readinessProbe", "livenessProbe")]
    assert {p["path"] for p in probes} == {"/ready", "/health"}
    assert pod_settings.api_keys, "the pod's keys are on, so probes must pass without one"
    with TestClient(app) as client:
        assert client.get("/dataset").status_code == 401  # keys are really required
        for probe in probes:
            assert probe["port"] == "http"
            assert client.get(probe["path"]).status_code == 200, probe["path"]


def test_ports_agree_with_the_image(objects: list[Object]) -> None:
    (port,) = app_container(objects)["ports"]
    assert (port["name"], port["containerPort"]) == ("http", image_port())
    (service_port,) = one(objects, "Service")["spec"]["ports"]
    assert service_port["targetPort"] == port["name"]
    backend = one(objects, "Ingress")["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend["service"] == {
        "name": one(objects, "Service")["metadata"]["name"],
        "port": {"name": service_port["name"]},
    }
    (rule,) = one(objects, "NetworkPolicy")["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": port["name"]}]


def test_every_environment_variable_is_a_setting(
    objects: list[Object], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = pod_environment(objects)
    fields = {PREFIX + name.upper() for name in Settings.model_fields}
    assert set(env) <= fields
    assert pod_spec(objects)["enableServiceLinks"] is False  # no BACKPROP_SERVICE_PORT & co.
    pod = settings_from(monkeypatch, env)
    assert pod.max_concurrent_trainings == 2  # the CPU limit, not this machine's CPU count
    assert pod.api_keys[0].get_secret_value() == "example-key-replace-me"


def test_configmap_values_are_the_settings_defaults(
    objects: list[Object], monkeypatch: pytest.MonkeyPatch
) -> None:
    (settings,) = [o for o in objects if o["metadata"]["name"] == "backprop-settings"]
    defaults = settings_from(monkeypatch, {})
    for name, value in settings["data"].items():
        assert name.startswith(PREFIX)
        field = name[len(PREFIX) :].lower()
        assert field in Settings.model_fields
        assert getattr(settings_from(monkeypatch, {name: value}), field) == getattr(
            defaults, field
        ), name
    # Every setting with a fixed default is listed, so that it can be changed in one place,
    # except those the Deployment sets itself (the Secret's keys), the image's cache folder and
    # the proxies to trust (the image's CMD passes --forwarded-allow-ips, which wins).
    fixed = {n for n, f in Settings.model_fields.items() if f.default_factory is None}
    direct = {var["name"][len(PREFIX) :].lower() for var in app_container(objects)["env"]}
    listed = {n[len(PREFIX) :].lower() for n in settings["data"]}
    assert listed == fixed - direct - {"numba_cache_dir", "forwarded_allow_ips"}
    assert not listed & direct


def test_termination_outlasts_the_pause_and_the_graceful_timeout(objects: list[Object]) -> None:
    pause = app_container(objects)["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pause > 0
    grace = pod_spec(objects)["terminationGracePeriodSeconds"]
    assert grace > pause + graceful_timeout()


def test_the_ingress_mirrors_the_nginx_configuration(objects: list[Object]) -> None:
    notes = one(objects, "Ingress")["metadata"]["annotations"]

    def annotation(name: str) -> str:
        return notes["nginx.ingress.kubernetes.io/" + name]  # type: ignore[no-any-return]

    sizes = {"k": 1024, "m": 1024**2}
    body = annotation("proxy-body-size")
    assert int(body[:-1]) * sizes[body[-1]] == Settings.model_fields["max_body_bytes"].default
    conf = (ROOT / "deploy" / "nginx" / "backprop.conf.template").read_text(encoding="utf-8")

    def directive(name: str) -> str:
        (value,) = re.findall(rf"^\s*{name}\s+([^;]+);", conf, flags=re.MULTILINE)
        return str(value).strip()

    assert directive("client_max_body_size") == body
    assert directive("client_body_buffer_size") == annotation("client-body-buffer-size")
    for name in ("connect", "send", "read"):
        assert directive(f"proxy_{name}_timeout") == annotation(f"proxy-{name}-timeout") + "s"
    assert directive("proxy_next_upstream") == annotation("proxy-next-upstream")
    assert directive("proxy_next_upstream_tries") == annotation("proxy-next-upstream-tries")
    retry_budget = annotation("proxy-next-upstream-timeout") + "s"
    assert directive("proxy_next_upstream_timeout") == retry_budget
    assert annotation("proxy-buffering") == "off"  # server-sent events unbuffered


def test_the_pod_is_locked_down(objects: list[Object]) -> None:
    spec = pod_spec(objects)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    for container in spec["initContainers"] + spec["containers"]:
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert "memory" in container["resources"]["limits"]


def test_what_the_image_writes_is_on_a_volume_seeded_from_the_image(objects: list[Object]) -> None:
    spec = pod_spec(objects)
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m for m in app_container(objects)["volumeMounts"]}
    env = image_env()
    writable = [env["NUMBA_CACHE_DIR"], env["MPLCONFIGDIR"], image_workdir()]
    assert env["BACKPROP_NUMBA_CACHE_DIR"] == env["NUMBA_CACHE_DIR"]
    for path in writable:
        (mount,) = [m for p, m in mounts.items() if path == p or path.startswith(p + "/")]
        assert "emptyDir" in volumes[mount["name"]], path
        assert not mount.get("readOnly"), path
    # The cache volume starts as a copy of the image's own cache folder (built at image build),
    # so numba finds the compiled kernel there and can write to it.
    (cache_path,) = [p for p in mounts if env["NUMBA_CACHE_DIR"].startswith(p + "/")]
    (seed,) = spec["initContainers"]
    assert seed["image"] == app_container(objects)["image"]
    (seed_mount,) = seed["volumeMounts"]
    assert seed_mount["name"] == mounts[cache_path]["name"]
    assert seed["command"] == ["cp", "-R", cache_path + "/.", seed_mount["mountPath"] + "/"]
    presets = mounts["/etc/backprop/graphs"]
    assert presets["readOnly"] is True
    assert volumes[presets["name"]]["configMap"]["name"] == "backprop-graph-presets"
    graphs = {v["name"]: v.get("value") for v in app_container(objects)["env"]}
    if "BACKPROP_GRAPHS_DIR" in graphs:  # once "Graphs as data" has the setting
        assert graphs["BACKPROP_GRAPHS_DIR"] == "/etc/backprop/graphs"


def test_replicas_budget_and_autoscaler(objects: list[Object]) -> None:
    deployment = one(objects, "Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    budget = one(objects, "PodDisruptionBudget")["spec"]
    assert 1 <= budget["minAvailable"] < deployment["spec"]["replicas"]
    scaler = one(objects, "HorizontalPodAutoscaler")["spec"]
    assert (scaler["minReplicas"], scaler["maxReplicas"]) == (2, 10)
    assert scaler["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    (metric,) = scaler["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert "cpu" in app_container(objects)["resources"]["requests"]  # Utilization needs it
    for selector in (
        one(objects, "Service")["spec"]["selector"],
        budget["selector"]["matchLabels"],
        one(objects, "NetworkPolicy")["spec"]["podSelector"]["matchLabels"],
    ):
        assert selector.items() <= labels.items()
