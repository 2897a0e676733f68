"""The monitoring host of the split estate: Prometheus on mon1 scrapes every
exporter the inventory places (node-exporter on each host, PostgreSQL and
Redis on db1, Nginx on web1, Gunicorn's request metrics on both app hosts,
the site probe) and all answer; a scrape port
is dropped for a host outside the monitoring group and wants credentials
from mon1."""

import os

import estate
import pytest
from conftest import tcp_probe, wait_for

pytestmark = pytest.mark.skipif(
    not os.environ.get("MOLECULE_INVENTORY_FILE"), reason="needs a Molecule run"
)

# Each exporter and the hosts that run it here.
EXPORTERS = {"postgres": 9187, "redis": 9121}


def test_every_target_from_the_inventory_is_up(mon1, groups):
    jobs = {"node", "postgres", "redis", "nginx", "django", "probe", "prometheus", "alertmanager", "blackbox"}
    result = wait_for(lambda: estate.targets_not_up(mon1, jobs) == ([], set()) or None, timeout=120)
    assert result, "targets not up, jobs missing: %s" % (estate.targets_not_up(mon1, jobs),)
    nodes = {labels["instance"] for labels, _ in estate.prometheus_query(mon1, 'up{job="node"} == 1')}
    assert nodes == set(groups["all"])
    for job, hosts in (("postgres", groups["db"] + groups["db_replica"]), ("redis", groups["redis"]), ("nginx", groups["web"]),
                       ("django", groups["app"])):
        up = {labels["instance"] for labels, _ in estate.prometheus_query(mon1, f'up{{job="{job}"}} == 1')}
        assert up == set(hosts), job


@pytest.mark.parametrize("port", [9100, *EXPORTERS.values()])
def test_scrape_ports_are_dropped_for_hosts_outside_the_monitoring_group(app1, mon1, addresses, port):
    db = addresses["cluster-db1"]
    assert tcp_probe(app1, db, port) == "timeout"
    assert tcp_probe(mon1, db, port) == "open"
    status, _, _, _ = estate.curl(mon1, f"https://{db}:{port}/metrics")
    assert status == "401"
