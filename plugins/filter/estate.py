"""Filters that derive the estate's wiring from the inventory (group_vars/all):
which servers Nginx balances, how many PostgreSQL connections the
application can open, which hosts send backups to the store, and what
Prometheus scrapes.

Unit tests: tests/filters/test_estate.py.
"""


def estate_upstreams(hosts, hostvars, this_host, port):
    """'address:port' of each host, loopback for the host asking (a web host
    that also runs the service reaches its own copy without leaving it)."""
    return [
        "%s:%s" % ("127.0.0.1" if host == this_host else hostvars[host]["estate_address"], port)
        for host in hosts
    ]


def estate_db_connections(groups, hostvars):
    """The application's PostgreSQL connections at most: Gunicorn workers x
    threads on each app host, twice (old and new workers overlap during a
    reload); Celery concurrency on each worker host; two on each scheduler
    host (beat and Flower)."""
    total = 0
    for host in groups.get("app", []):
        total += 2 * int(hostvars[host]["app_gunicorn_workers"]) * int(hostvars[host]["app_gunicorn_threads"])
    for host in groups.get("worker", []):
        total += int(hostvars[host]["app_celery_concurrency"])
    return total + 2 * len(groups.get("scheduler", []))


def estate_backup_clients(hosts, hostvars):
    """{name, public_key} of every host (once) that published a backup key."""
    clients = []
    for host in hosts:
        key = hostvars[host].get("backup_ssh_public_key", "")
        if key and host not in [c["name"] for c in clients]:
            clients.append({"name": host, "public_key": key})
    return clients


def estate_pgbackrest_pg_hosts(hosts, hostvars, ssh_port=22):
    """pgBackRest's pg hosts for the repository host: every db host (once)
    that published its pg side (backup_pgbackrest_pg_public_key, _path,
    _port, _host_keys), at its estate_address, in inventory order."""
    pg_hosts = []
    for host in hosts:
        facts = hostvars[host]
        key = facts.get("backup_pgbackrest_pg_public_key", "")
        if key and host not in [p["name"] for p in pg_hosts]:
            pg_hosts.append({
                "name": host,
                "address": facts["estate_address"],
                "port": ssh_port,
                "path": facts["backup_pgbackrest_pg_path"],
                "pg_port": facts["backup_pgbackrest_pg_port"],
                "public_key": key,
                "host_keys": facts.get("backup_pgbackrest_pg_host_keys", []),
            })
    return pg_hosts


def estate_scrape_targets(exporters, groups, hostvars, this_host):
    """Prometheus' scrape jobs from the inventory: for each exporter
    ({name, port, groups, secure_from_release}), every host in one of its
    groups, at its estate_address (loopback for the monitoring host itself),
    labelled with its inventory name. Where the exporter cannot protect itself
    (the host's Debian release is below secure_from_release) it listens on
    loopback: scraped over http by its own host only, and left out elsewhere."""
    jobs = []
    for exporter in exporters:
        hosts = []
        for group in exporter["groups"]:
            hosts += [h for h in groups.get(group, []) if h not in hosts]
        targets = []
        for host in hosts:
            release = hostvars[host].get("ansible_facts", {}).get("distribution_major_version", "0")
            secure = int(release or 0) >= int(exporter.get("secure_from_release", 0))
            if not secure and host != this_host:
                continue
            address = "127.0.0.1" if host == this_host else hostvars[host]["estate_address"]
            targets.append({"address": "%s:%s" % (address, exporter["port"]), "host": host,
                            "scheme": "https" if secure else "http"})
        if targets:
            jobs.append({"name": exporter["name"], "targets": targets})
    return jobs


class FilterModule:
    def filters(self):
        return {
            "estate_scrape_targets": estate_scrape_targets,
            "estate_upstreams": estate_upstreams,
            "estate_db_connections": estate_db_connections,
            "estate_backup_clients": estate_backup_clients,
            "estate_pgbackrest_pg_hosts": estate_pgbackrest_pg_hosts,
        }
