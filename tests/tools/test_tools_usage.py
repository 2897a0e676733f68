"""The tools' front door: every executable in tools/ answers -h and --help
with its usage and exit status 0, at once, without doing any work first
(no install, no container, no file written: its working directory, HOME,
TMPDIR, STATE_DIR and VENV all point into an empty directory that must stay
empty)."""

import os
import subprocess
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"
EXECUTABLES = sorted(p for p in TOOLS.iterdir() if p.is_file() and os.access(p, os.X_OK))
# What each tool's usage must name: its subcommands and arguments.
MUST_NAME = {
    "test": ["lint", "app", "preflight", "molecule", "MOLECULE_DISTROS", "MOLECULE_SCENARIOS", "MOLECULE_LINEAR_SCENARIOS"],
    "lab": ["up", "down", "ssh", "run", "idempotence", "secrets", "LAB_DISTRO", "LAB_NAME", "LAB_SSH_PORT", "LAB_VAULT_FILE"],
    "bench": ["--skip-fresh", "--skip-noop", "--test-log", "python3"],
    "build-image": ["SUITE", "TAG", "BUILD_HASH", "APT_PROXY_HOST"],
    "gen-secrets": ["FILE", "VAULT_PASSWORD_FILE"],
    "unit-security": ["INVENTORY", "inventory/lab"],
}


def usage_problems(tool, option, sandbox):
    """What is wrong with TOOL's answer to OPTION (an empty list: nothing).
    SANDBOX is an empty directory; the tool runs with everything it could
    write to pointing into it."""
    env = {**os.environ, "HOME": str(sandbox / "home"), "TMPDIR": str(sandbox / "tmp"),
           "STATE_DIR": str(sandbox / "state"), "VENV": str(sandbox / "venv")}
    cwd = sandbox / "cwd"
    cwd.mkdir()
    try:
        done = subprocess.run([str(tool), option], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=10, check=False)
    except subprocess.TimeoutExpired:
        return [f"{tool.name} {option} did not answer within 10 s"]
    problems = []
    if done.returncode != 0:
        problems.append(f"{tool.name} {option} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    if not any(line.lower().startswith("usage") for line in done.stdout.splitlines()):
        problems.append(f"{tool.name} {option} printed no line starting with 'usage' on stdout: {done.stdout[:500]!r}")
    created = sorted(str(p.relative_to(sandbox)) for p in sandbox.rglob("*") if p != cwd)
    if created:
        problems.append(f"{tool.name} {option} created files: {created}")
    return problems


def test_every_tool_is_found():
    assert {p.name for p in EXECUTABLES} >= set(MUST_NAME), "a tool is missing or lost its executable bit"


@pytest.mark.parametrize("option", ["-h", "--help"])
@pytest.mark.parametrize("tool", EXECUTABLES, ids=lambda p: p.name)
def test_usage(tool, option, tmp_path):
    assert usage_problems(tool, option, tmp_path) == []


@pytest.mark.parametrize("tool", EXECUTABLES, ids=lambda p: p.name)
def test_usage_names_what_the_tool_supports(tool, tmp_path):
    out = subprocess.run([str(tool), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=10, check=False).stdout
    missing = [word for word in MUST_NAME.get(tool.name, []) if word not in out]
    assert not missing, f"tools/{tool.name} --help does not name {missing}"


def test_a_tool_without_a_front_door_is_caught(tmp_path):
    """The check itself: a script that does work before looking at its
    arguments, and has no usage, fails every part of it."""
    tool = tmp_path / "naive"
    tool.write_text('#!/bin/sh\ntouch "$STATE_DIR-was-here" created-here\necho "unknown option: $1" >&2\nexit 1\n')
    tool.chmod(0o755)
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    problems = usage_problems(tool, "-h", sandbox)
    assert len(problems) == 3, problems
    slow = tmp_path / "slow"
    slow.write_text("#!/bin/sh\nexec sleep 30\n")
    slow.chmod(0o755)
    (tmp_path / "sandbox2").mkdir()
    assert usage_problems(slow, "-h", tmp_path / "sandbox2") == ["slow -h did not answer within 10 s"]
