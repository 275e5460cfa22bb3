"""The Kubernetes manifests of docs/deploy.md, checked without a cluster.

No Kubernetes here: every YAML block of the page is parsed, the built-in kinds are validated
against Kubernetes' schemas (kubernetes-validate, when installed), every container's command
and flags are checked against the real `nbprod <command> --help` (and `dask <command>
--help`), and the references between the objects (Secrets, keys, ports, the Dask scheduler
address, grace periods, the image's uid) are resolved.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from dataclasses import fields
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

DOC = REPO / "docs" / "deploy.md"
BUILTIN = {"v1", "apps/v1"}
# Flags that arrive with the Dask executor (the executors branch): until `nbprod scheduler
# --help` lists them, the containers that use them are skipped, not failed.
DASK_EXECUTOR_FLAGS = {"--executor", "--dask-scheduler"}


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", DOC.read_text(), flags=re.M | re.S)


def objects() -> list[dict[str, Any]]:
    found = []
    for block in blocks("yaml"):
        found.extend(doc for doc in yaml.safe_load_all(block) if doc is not None)
    return found


OBJECTS = objects()


def named(kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [o for o in OBJECTS if o["kind"] == kind and name in (None, o["metadata"]["name"])]


def pod_specs() -> list[tuple[str, dict[str, Any]]]:
    """(label, pod spec) of every object that makes pods."""
    specs = []
    for obj in OBJECTS:
        label = f"{obj['kind']}/{obj['metadata']['name']}"
        spec = obj.get("spec", {})
        if obj["kind"] == "Deployment":
            specs.append((label, spec["template"]["spec"]))
        elif obj["kind"] == "DaskCluster":
            specs.append((f"{label}/scheduler", spec["scheduler"]["spec"]))
            specs.append((f"{label}/worker", spec["worker"]["spec"]))
        elif obj["kind"] == "DaskWorkerGroup":
            specs.append((label, spec["worker"]["spec"]))
    return specs


def nbprod_containers() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(label, pod spec, container) of the containers that run the nbprod image."""
    return [
        (f"{label}/{c['name']}", spec, c)
        for label, spec in pod_specs()
        for c in spec["containers"]
        if "nbprod" in c["image"].rsplit("/", 1)[-1]
    ]


def argv(container: dict[str, Any]) -> list[str]:
    """What the container executes, given the image's entrypoint `tini -- nbprod`."""
    command = container.get("command") or ["tini", "--", "nbprod"]
    words = [*command, *container.get("args", [])]
    assert words[:2] == ["tini", "--"], f"{words}: run under tini, the image's PID 1"
    return words[2:]


@functools.cache
def help_text(program: str, command: str) -> str:
    module = {"nbprod": "nbprod", "dask": "dask"}[program]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", module, command, "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, f"{program} {command} --help: {result.stderr}"
    return result.stdout


def config() -> dict[str, str]:
    (configmap,) = named("ConfigMap", "nbprod-config")
    return configmap["data"]


def test_every_block_is_a_kubernetes_object_and_the_page_has_the_whole_setup():
    assert OBJECTS
    for obj in OBJECTS:
        assert {"apiVersion", "kind", "metadata"} <= set(obj), obj
        assert obj["metadata"]["name"], obj
    kinds = {o["kind"] for o in OBJECTS}
    assert {"Secret", "ConfigMap", "Deployment", "Service", "DaskCluster"} <= kinds, kinds
    commands = {tuple(argv(c)[:2]) for _, _, c in nbprod_containers()}
    expected = {("nbprod", "scheduler"), ("nbprod", "worker"), ("nbprod", "browse")}
    expected |= {("dask", "scheduler"), ("dask", "worker")}
    assert expected <= commands, commands


def test_the_builtin_kinds_are_valid_kubernetes_objects():
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    version = kubernetes_validate.latest_version()
    builtin = [o for o in OBJECTS if o["apiVersion"] in BUILTIN]
    assert len(builtin) >= 6
    for obj in builtin:
        kubernetes_validate.validate(obj, version, strict=True)
    # ... and the validator does refuse a broken one.
    broken = {**builtin[0], "spec": {"replicas": "two"}, "kind": "Deployment"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate({**broken, "apiVersion": "apps/v1"}, version, strict=True)


def test_the_dask_resources_are_well_formed():
    (cluster,) = named("DaskCluster")
    for group in named("DaskWorkerGroup"):
        assert group["spec"]["cluster"] == cluster["metadata"]["name"]
    # The pod specs inside the custom resources are Kubernetes pod specs.
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    version = kubernetes_validate.latest_version()
    for label, spec in pod_specs():
        if label.startswith("Dask"):
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "spec": spec}
            kubernetes_validate.validate(pod, version, strict=True)
    service = cluster["spec"]["scheduler"]["service"]
    service_obj = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}
    kubernetes_validate.validate({**service_obj, "spec": service}, version, strict=True)


@pytest.mark.parametrize(
    "label, container",
    [(label, c) for label, _, c in nbprod_containers()],
    ids=[label for label, _, _ in nbprod_containers()],
)
def test_each_container_runs_a_real_command_with_real_flags(label, container):
    program, command, *rest = argv(container)
    assert program in ("nbprod", "dask"), label
    if program == "dask":
        pytest.importorskip("distributed")
    text = help_text(program, command)
    flags = [word.split("=", 1)[0] for word in rest if word.startswith("--")]
    missing = [flag for flag in flags if not re.search(rf"{re.escape(flag)}\b", text)]
    pending = [flag for flag in missing if program == "nbprod" and flag in DASK_EXECUTOR_FLAGS]
    assert missing == pending, f"{label}: {program} {command} has no {missing}"
    if pending:
        pytest.skip(f"`nbprod {command} --help` does not list {pending} yet (the Dask executor)")


def test_every_reference_between_the_objects_resolves():
    secrets = {s["metadata"]["name"]: s for s in named("Secret")}
    configmaps = {c["metadata"]["name"]: c for c in named("ConfigMap")}
    for label, spec in pod_specs():
        for container in spec["containers"]:
            for source in container.get("envFrom", []):
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets, label
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in configmaps, label
            for var in container.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in secrets[ref["name"]]["stringData"], (label, ref)
            ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
            for probe in ("readinessProbe", "livenessProbe"):
                port = container.get(probe, {}).get("httpGet", {}).get("port")
                if port is not None:
                    assert port in ports or port in ports.values(), (label, probe)
    for deployment in named("Deployment"):
        template = deployment["spec"]["template"]
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= template["metadata"]["labels"].items()
    for service in named("Service"):
        selector = service["spec"]["selector"].items()
        pods = [
            d["spec"]["template"]
            for d in named("Deployment")
            if selector <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert pods, f"Service {service['metadata']['name']} selects no Deployment"
        ports = {
            p["name"]: p["containerPort"]
            for pod in pods
            for c in pod["spec"]["containers"]
            for p in c.get("ports", [])
        }
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, port
    # The browse container listens where its port and probes say.
    for label, _, container in nbprod_containers():
        words = argv(container)
        if words[1] == "browse":
            assert words[words.index("--ip") + 1] == "0.0.0.0", label
            listen = int(words[words.index("--port") + 1])
            assert listen in [p["containerPort"] for p in container["ports"]], label
            token = {v["name"]: v for v in container["env"]}["NBPROD_BROWSE_TOKEN"]
            assert "secretKeyRef" in token["valueFrom"], label


def test_every_nbprod_process_gets_the_catalog_the_store_and_the_credentials():
    secret_names = {s["metadata"]["name"] for s in named("Secret")}
    (main,) = [s for s in named("Secret") if "NBPROD_CATALOG" in s["stringData"]]
    data = main["stringData"]
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(data)
    assert config()["NBPROD_STORE"].startswith("s3://")
    for label, _, container in nbprod_containers():
        if argv(container)[:2] == ["dask", "scheduler"]:
            continue  # runs no task: it needs the image, not the catalog
        sources = container.get("envFrom", [])
        refs = {s.get("secretRef", {}).get("name") for s in sources} & secret_names
        assert main["metadata"]["name"] in refs, label
        assert {"configMapRef": {"name": "nbprod-config"}} in sources, label


def test_the_catalog_url_uses_the_driver_the_image_installs():
    import sqlalchemy as sa

    from tests.deploy.test_dockerfile import tomllib

    (main,) = [s for s in named("Secret") if "NBPROD_CATALOG" in s["stringData"]]
    url = sa.engine.make_url(main["stringData"]["NBPROD_CATALOG"])
    # The driver is named: a bare postgresql:// means psycopg 3 to SQLAlchemy 2.1, which
    # the image does not have.
    assert url.drivername == "postgresql+psycopg2", url.drivername
    assert url.get_dialect().driver == "psycopg2"
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    extra = pyproject["project"]["optional-dependencies"]["postgres"]
    assert any(re.match(r"psycopg2(-binary)?\b", requirement) for requirement in extra), extra


def test_every_setting_it_sets_is_a_real_setting():
    from nbprod.config import Settings

    real = {f"NBPROD_{f.name.upper()}" for f in fields(Settings)}
    real |= {"NBPROD_BROWSE_TOKEN", "NBPROD_BROWSE_IP", "NBPROD_BROWSE_PORT"}
    named_here = set(config())
    for secret in named("Secret"):
        named_here |= set(secret["stringData"])
    for _, spec in pod_specs():
        for container in spec["containers"]:
            named_here |= {v["name"] for v in container.get("env", [])}
    unknown = {n for n in named_here if n.startswith("NBPROD_")} - real
    assert not unknown, unknown


def test_grace_periods_outlast_the_shutdown_grace():
    grace = float(config()["NBPROD_SHUTDOWN_GRACE"])
    checked = 0
    for label, spec, container in nbprod_containers():
        if argv(container)[:2] in (["nbprod", "scheduler"], ["nbprod", "worker"]):
            # A scheduler's local workers get the grace, then 30 s to store cancelled output.
            assert spec["terminationGracePeriodSeconds"] > grace + 30, label
            checked += 1
    assert checked >= 2
    (worker,) = [spec for _, spec, c in nbprod_containers() if argv(c)[:2] == ["nbprod", "worker"]]
    # A worker drains its current run: its grace is the longest run it may finish.
    assert worker["terminationGracePeriodSeconds"] >= 3600


def test_pods_run_as_the_images_user_and_schedulers_stay_few():
    dockerfile = (REPO / "Dockerfile").read_text()
    uid = int(re.findall(r"^USER (\d+)", dockerfile, flags=re.M)[-1])
    for label, spec in pod_specs():
        context = spec["securityContext"]
        assert context["runAsNonRoot"] is True, label
        assert context["runAsUser"] == uid, label
    for label, _, container in nbprod_containers():
        if argv(container)[:2] == ["nbprod", "scheduler"]:
            words = argv(container)
            if "--executor" not in words:
                assert words[words.index("--workers") + 1] == "0", label
    for deployment in named("Deployment"):
        if deployment["metadata"]["labels"]["app.kubernetes.io/component"] == "scheduler":
            assert deployment["spec"]["replicas"] in (1, 2)


def test_the_dask_side_matches_what_nbprod_needs():
    (cluster,) = named("DaskCluster")
    scheduler = cluster["spec"]["scheduler"]
    (container,) = scheduler["spec"]["containers"]
    env = {v["name"]: v.get("value") for v in container.get("env", [])}
    assert env["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES"] == "0"
    # The nbprod scheduler submits to the Service the operator makes: <name>-scheduler.
    comm = {p["name"]: p["port"] for p in scheduler["service"]["ports"]}["tcp-comm"]
    address = f"tcp://{cluster['metadata']['name']}-scheduler:{comm}"
    submitters = [
        argv(c)
        for _, _, c in nbprod_containers()
        if argv(c)[:2] == ["nbprod", "scheduler"] and "--executor" in argv(c)
    ]
    assert submitters
    for words in submitters:
        assert words[words.index("--executor") + 1] == "dask"
        assert words[words.index("--dask-scheduler") + 1] == address
    # Worker resources are `name=number` pairs, as `dask worker --resources` takes them.
    workers = [c for _, _, c in nbprod_containers() if argv(c)[:2] == ["dask", "worker"]]
    assert len(workers) >= 2
    for container in workers:
        words = argv(container)
        resources = words[words.index("--resources") + 1]
        for pair in resources.split(","):
            name, _, amount = pair.partition("=")
            assert re.fullmatch(r"[a-z]\w*", name) and float(amount) > 0, pair


def test_the_shell_examples_name_real_nbprod_commands():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    top = subprocess.run(
        [sys.executable, "-m", "nbprod", "--help"], capture_output=True, text=True, env=env
    ).stdout
    commands = set(re.findall(r"^  ([a-z][\w-]*)\s", top.split("Commands:")[1], flags=re.M))
    used = set()
    for block in blocks("bash"):
        # A command line, after any VAR=value assignments (not `kubectl -n nbprod ...`).
        used |= set(re.findall(r"^(?:[A-Z_]+=\S+ )*nbprod ([a-z][\w-]*)", block, flags=re.M))
    assert used
    assert used <= commands, used - commands
