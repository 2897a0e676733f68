"""Unit tests of plugins/filter/systemd_units.py."""

import importlib.util
from pathlib import Path

_PATH = Path(__file__).resolve().parents[2] / "plugins/filter/systemd_units.py"
_spec = importlib.util.spec_from_file_location("systemd_units", _PATH)
units = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(units)

SHOW = """Id=app-gunicorn.socket
UnitFileState=enabled
ActiveState=active

Id=app-gunicorn.service
UnitFileState=enabled
ActiveState=activating

Id=app-celery.service
UnitFileState=disabled
ActiveState=active

Id=app-beat.service
UnitFileState=enabled
ActiveState=active
"""


def test_only_units_not_enabled_and_active():
    names = ["app-gunicorn.socket", "app-gunicorn.service", "app-celery.service", "app-beat.service"]
    assert units.systemd_not_running(SHOW, names) == ["app-gunicorn.service", "app-celery.service"]


def test_unknown_or_unlisted_units_count_as_not_running():
    # systemctl show prints empty properties for a unit file that is not there.
    show = SHOW + "\nId=app-new.service\nUnitFileState=\nActiveState=inactive\n"
    assert units.systemd_not_running(show, ["app-new.service", "app-absent.service"]) == [
        "app-new.service", "app-absent.service"]


def test_empty_output_means_everything_to_start():
    assert units.systemd_not_running("", ["a.service"]) == ["a.service"]
    assert units.systemd_not_running(None, ["a.service"]) == ["a.service"]


UNITS = [
    {"name": "chrony.service", "enabled": True, "running": True},
    {"name": "apt-daily.timer", "enabled": False, "running": "False"},
    {"name": "apt-daily-upgrade.timer", "enabled": "false", "running": False},
]


def test_units_differing_names_only_those_not_as_wanted():
    show = """Id=chrony.service
UnitFileState=enabled
ActiveState=active

Id=apt-daily.timer
UnitFileState=enabled
ActiveState=active

Id=apt-daily-upgrade.timer
UnitFileState=disabled
ActiveState=inactive
"""
    assert [u["name"] for u in units.systemd_units_differing(show, UNITS)] == ["apt-daily.timer"]


def test_units_differing_counts_unknown_and_unreported_units():
    show = "Id=chrony.service\nUnitFileState=\nActiveState=inactive\n"
    assert [u["name"] for u in units.systemd_units_differing(show, UNITS)] == [u["name"] for u in UNITS]
    assert units.systemd_units_differing("", UNITS[:1]) == UNITS[:1]
