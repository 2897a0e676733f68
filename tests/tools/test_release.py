"""tools/release: an artifact holds the app, the lock's wheels for each target
Python and npm's cache, under a manifest that `verify` (and the application
role) hold it to; a requirement without a wheel stops the build by name."""

import pathlib
import subprocess
import tarfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "release"


def release(*args):
    return subprocess.run([str(TOOL), *map(str, args)], capture_output=True, text=True, timeout=900, check=False)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    result = release("build", "--out", out)
    assert result.returncode == 0, result.stdout + result.stderr
    return next(out.glob("*.tar.gz"))


def test_artifact_holds_app_wheels_per_python_and_npm_cache(artifact):
    version = (ROOT / "app" / "VERSION").read_text().strip()
    assert artifact.name.startswith(version + "-")
    with tarfile.open(artifact) as tar:
        names = set(tar.getnames())
        release_id = tar.extractfile(".artifact/RELEASE").read().decode().strip()
    assert release_id == artifact.name.removesuffix(".tar.gz")
    assert {"django/manage.py", "requirements.txt", "node-wallet/package-lock.json", ".artifact/MANIFEST.sha256"} <= names
    locked = [line.split("==")[0] for line in (ROOT / "app" / "requirements.txt").read_text().splitlines()
              if "==" in line and not line.startswith("#")]
    for tag in ("cp311", "cp313"):
        assert len([n for n in names if n.startswith(f".artifact/wheels/{tag}/") and n.endswith(".whl")]) == len(locked)
    assert any(n.startswith(".artifact/npm-cache/") for n in names)
    assert not any("node_modules" in n or "__pycache__" in n for n in names)
    sums = (artifact.parent / (artifact.name + ".sha256")).read_text().split()[0]
    assert sums == subprocess.check_output(["sha256sum", str(artifact)], text=True).split()[0]


def test_verify_accepts_the_artifact(artifact):
    result = release("verify", artifact)
    assert result.returncode == 0 and "match the manifest" in result.stdout, result.stderr


@pytest.mark.parametrize("change,expected", [
    ("byte", "django/manage.py: changed"),
    ("extra", "django/sneaky.py: not in the manifest"),
    ("missing", "requirements.txt: missing"),
])
def test_verify_names_the_file_that_differs(artifact, tmp_path, change, expected):
    tree = tmp_path / "tree"
    with tarfile.open(artifact) as tar:
        tar.extractall(tree, filter="data")
    if change == "byte":
        with open(tree / "django" / "manage.py", "ab") as handle:
            handle.write(b"#")
    elif change == "extra":
        (tree / "django" / "sneaky.py").write_text("import os\n")
    else:
        (tree / "requirements.txt").unlink()
    broken = tmp_path / "broken.tar.gz"
    with tarfile.open(broken, "w:gz") as tar:
        tar.add(tree, arcname=".")
    result = release("verify", broken)
    assert result.returncode == 1
    assert expected in result.stderr, result.stderr


def test_a_python_without_wheels_stops_the_build_by_name(tmp_path):
    result = release("build", "--out", tmp_path, "--python", "3.6")
    assert result.returncode == 1
    assert "no wheel for Python 3.6" in result.stderr and "No matching distribution found for " in result.stderr, result.stderr
    assert not list(tmp_path.glob("*.tar.gz"))
