"""The delivery pipeline's files are checked by the validators tools/test
lint runs (check-jsonschema's GitHub workflow schema, Renovate's own
renovate-config-validator), and those validators refuse a broken copy: a
check that passes everything would not catch a broken pipeline."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def check_workflow(path):
    local = pathlib.Path(sys.executable).parent / "check-jsonschema"
    tool = str(local) if local.exists() else shutil.which("check-jsonschema")
    assert tool, "no check-jsonschema (requirements.txt)"
    return subprocess.run([tool, "--builtin-schema", "vendor.github-workflows", str(path)],
                          capture_output=True, text=True, timeout=120)


def check_renovate(path):
    tool = os.environ.get("RENOVATE_CONFIG_VALIDATOR") or str(
        ROOT / ".state" / "renovate" / "node_modules" / ".bin" / "renovate-config-validator")
    if not os.access(tool, os.X_OK):
        pytest.fail(f"no renovate-config-validator at {tool} (tools/test installs it: tools/lib.sh ensure_renovate_validator)")
    return subprocess.run([tool, "--strict", "--no-global", str(path)], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_passes_the_schema(workflow):
    result = check_workflow(workflow)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_with_a_misspelt_job_key_fails_the_schema(workflow, tmp_path):
    data = yaml.safe_load(workflow.read_text())
    job = next(iter(data["jobs"].values()))
    job["time-out-minutes"] = job.pop("timeout-minutes", 30)
    broken = tmp_path / workflow.name
    broken.write_text(yaml.safe_dump(data))
    assert check_workflow(broken).returncode != 0


def test_deploy_pipeline_builds_once_and_gates_production():
    deploy = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text())
    jobs = deploy["jobs"]
    assert deploy["on"]["push"]["tags"] == ["v*"]
    assert jobs["production"]["needs"] == ["build", "staging"]
    # The same archive (by its checksum) for both environments.
    for env in ("staging", "production"):
        assert jobs[env]["with"]["sha256"] == "${{ needs.build.outputs.sha256 }}"
    called = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy-environment.yml").read_text())
    job = called["jobs"]["deploy"]
    assert job["concurrency"]["group"] == "deploy-${{ inputs.environment }}"
    assert job["environment"]["name"] == "${{ inputs.environment }}"
    run = "\n".join(step.get("run", "") for step in job["steps"])
    # The operator's command (README), and secrets only through files.
    assert "ansible-playbook playbooks/deploy.yml -i" in run
    assert "secrets." not in run and "set -x" not in run


def test_renovate_config_passes_renovates_validator():
    result = check_renovate(ROOT / "renovate.json")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.parametrize("breakage", ["unknown-option", "bad-manager"])
def test_broken_renovate_config_fails_renovates_validator(breakage, tmp_path):
    config = json.loads((ROOT / "renovate.json").read_text())
    if breakage == "unknown-option":
        config["packageRulez"] = config.pop("packageRules")
    else:
        config["enabledManagers"].append("pip-compilee")
    broken = tmp_path / "renovate.json"
    broken.write_text(json.dumps(config))
    assert check_renovate(broken).returncode != 0
