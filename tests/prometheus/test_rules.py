"""The alert rules of roles/prometheus, rendered with the role's defaults
(Ansible's [[ ]] delimiters), checked and unit-tested by promtool: every rule
has a case that fires and one that stays silent (files/rules-tests/).

promtool comes from Debian's package (tools/lib.sh ensure_promtool puts it in
.state/promtool); PROMTOOL names another one.
"""
import os
import pathlib
import shutil
import subprocess

import jinja2
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "prometheus"
TESTS = sorted((ROLE / "files" / "rules-tests").glob("*.test.yml"))


def _promtool():
    path = os.environ.get("PROMTOOL") or str(ROOT / ".state" / "promtool" / "usr" / "bin" / "promtool")
    if not os.access(path, os.X_OK):
        pytest.fail("no promtool at %s (tools/test preflight installs it: tools/lib.sh ensure_promtool)" % path)
    return path


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("rules")
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(ROLE / "templates" / "rules")),
        variable_start_string="[[", variable_end_string="]]",
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
    )
    for template in sorted((ROLE / "templates" / "rules").glob("*.yml.j2")):
        text = env.get_template(template.name).render(ansible_managed="Ansible managed", **defaults)
        (out / template.name[:-3]).write_text(text)
    for test in TESTS:
        shutil.copy(test, out / test.name)
    return out


def _run(*args, cwd):
    return subprocess.run([_promtool(), *args], cwd=cwd, capture_output=True, text=True, check=False)


def test_every_rule_file_is_valid(rules_dir):
    files = sorted(p.name for p in rules_dir.glob("*.yml") if not p.name.endswith(".test.yml"))
    assert files, "no rule file rendered"
    result = _run("check", "rules", *files, cwd=rules_dir)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("test", TESTS, ids=lambda p: p.name)
def test_rules_unit_tests_pass(rules_dir, test):
    result = _run("test", "rules", test.name, cwd=rules_dir)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_rule_has_a_firing_and_a_silent_case(rules_dir):
    """Each alert is asserted firing (exp_alerts not empty) and silent
    (exp_alerts empty) somewhere; Watchdog always fires, by design."""
    alerts = set()
    for path in rules_dir.glob("*.yml"):
        if path.name.endswith(".test.yml"):
            continue
        for group in yaml.safe_load(path.read_text())["groups"]:
            alerts |= {rule["alert"] for rule in group["rules"] if "alert" in rule}
    fired, silent = set(), set()
    for test in TESTS:
        for case in yaml.safe_load(test.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check.get("exp_alerts") else silent).add(check["alertname"])
    assert alerts - fired == set(), "never asserted firing"
    assert alerts - silent - {"Watchdog"} == set(), "never asserted silent"
