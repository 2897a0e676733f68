"""Filters that derive the estate's wiring from the inventory (group_vars/all):
which servers Nginx balances, how many PostgreSQL connections the
application can open, and which hosts send backups to the store.

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


class FilterModule:
    def filters(self):
        return {
            "estate_upstreams": estate_upstreams,
            "estate_db_connections": estate_db_connections,
            "estate_backup_clients": estate_backup_clients,
        }
