"""Unit tests of roles/application/filter_plugins/application_services.py."""

import importlib.util
from pathlib import Path

_PATH = Path(__file__).resolve().parents[2] / "roles/application/filter_plugins/application_services.py"
_spec = importlib.util.spec_from_file_location("application_services", _PATH)
services = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(services)

SERVICES = [
    {"name": "gunicorn", "groups": ["app"]},
    {"name": "celery-worker", "groups": ["worker"]},
    {"name": "flower", "groups": ["scheduler"], "state": "absent"},
    {"name": "node-api", "groups": ["node", "app"], "state": "present"},
]


def test_a_host_runs_the_present_services_of_its_groups_in_order():
    names = [s["name"] for s in services.application_host_services(SERVICES, ["app", "db"])]
    assert names == ["gunicorn", "node-api"]


def test_an_absent_service_runs_nowhere():
    assert services.application_host_services(SERVICES, ["scheduler"]) == []


def test_a_host_in_no_service_group_runs_none():
    assert services.application_host_services(SERVICES, ["db", "redis"]) == []
