"""Shipping files are linted offline: hadolint on the Dockerfile, actionlint on the
workflows, Kubernetes schema validation on the manifests, bash syntax on the scripts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "jobs" / "k8s"
K8S_VERSION = "1.31.0"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; it comes with `uv sync` (dev group)")
    return path


def test_hadolint_passes_on_the_dockerfile() -> None:
    proc = subprocess.run([tool("hadolint"), str(ROOT / "Dockerfile")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_passes_on_the_workflows() -> None:
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert {p.name for p in workflows} >= {"ci.yml", "score.yml"}
    proc = subprocess.run([tool("actionlint"), "-shellcheck=", "-pyflakes=",
                           *map(str, workflows)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def kustomize_resources() -> list[Path]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return [K8S / name for name in kustomization["resources"]]


@pytest.mark.parametrize("manifest", kustomize_resources(), ids=lambda p: p.name)
def test_manifests_validate_against_the_kubernetes_schema(manifest: Path) -> None:
    import kubernetes_validate

    for document in yaml.safe_load_all(manifest.read_text()):
        kubernetes_validate.validate(document, K8S_VERSION, strict=True)


def test_every_manifest_is_in_the_kustomization() -> None:
    listed = {p.name for p in kustomize_resources()}
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present


def test_cronjobs_are_hardened_and_cannot_overlap() -> None:
    for manifest in ("cronjob-score.yaml", "cronjob-retrain.yaml"):
        job = yaml.safe_load((K8S / manifest).read_text())
        spec = job["spec"]
        assert spec["concurrencyPolicy"] == "Forbid" and spec["timeZone"]
        for key in ("startingDeadlineSeconds", "successfulJobsHistoryLimit",
                    "failedJobsHistoryLimit"):
            assert key in spec
        job_spec = spec["jobTemplate"]["spec"]
        for key in ("backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished"):
            assert key in job_spec
        pod = job_spec["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        for container in pod.get("initContainers", []) + pod["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["capabilities"]["drop"] == ["ALL"]
            assert sc["allowPrivilegeEscalation"] is False
            assert {"requests", "limits"} <= set(container["resources"])
            assert {m["mountPath"] for m in container["volumeMounts"]} == {"/data", "/tmp"}


@pytest.mark.parametrize("script", ["jobs/cron/acebet-cron", ".ci/run", ".ci/container-check"])
def test_shell_scripts_parse(script: str) -> None:
    proc = subprocess.run(["bash", "-n", str(ROOT / script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_cron_wrapper_passes_the_exit_code_on_and_holds_a_lock(tmp_path: Path) -> None:
    fake = tmp_path / "acebet"
    fake.write_text("#!/usr/bin/env bash\necho ran \"$@\"\nexit \"${FAKE_EXIT:-0}\"\n")
    fake.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "ACEBET_BIN": str(fake), "ACEBET_DB": str(tmp_path / "x"),
           "ACEBET_CRON_LOG": str(tmp_path / "log")}
    wrapper = str(ROOT / "jobs/cron/acebet-cron")
    ok = subprocess.run([wrapper, "score"], env=env)
    failed = subprocess.run([wrapper, "score"], env={**env, "FAKE_EXIT": "3"})
    assert (ok.returncode, failed.returncode) == (0, 3)
    log = (tmp_path / "log").read_text()
    assert "ran --log-format json score" in log and "exit=3" in log
    # another run holds the lock: it says so once flock has granted it
    held = subprocess.Popen(["flock", str(tmp_path / "x.cron.lock"), "sh", "-c",
                             "echo held; exec sleep 60"], stdout=subprocess.PIPE, text=True)
    try:
        assert held.stdout.readline() == "held\n"
        busy = subprocess.run([wrapper, "score"], env=env)
    finally:
        held.kill()
        held.wait()
    assert busy.returncode == 75


def test_cronjobs_publish_to_the_lake_from_a_secret_that_is_only_an_example() -> None:
    import kubernetes_validate

    example = K8S / "examples" / "share-secret.yaml"
    secret = yaml.safe_load(example.read_text())
    kubernetes_validate.validate(secret, K8S_VERSION, strict=True)
    assert secret["stringData"]["ACEBET_PUBLISH"].startswith("ducklake:postgres:")
    assert example not in kustomize_resources()
    for manifest in ("cronjob-score.yaml", "cronjob-retrain.yaml"):
        pod = yaml.safe_load((K8S / manifest).read_text())["spec"]["jobTemplate"]["spec"][
            "template"]["spec"]
        for container in pod.get("initContainers", []) + pod["containers"]:
            refs = [e.get("secretRef", {}).get("name") for e in container["envFrom"]]
            assert secret["metadata"]["name"] in refs, (manifest, container["name"])
