"""Central logs across the estate: every host's journal reaches the log host
(mon1) over RELP and TLS within seconds, filed under the sending host and
service; a client the inventory does not name is refused and nothing it sends
is stored; lines logged while the log host is down arrive once it is back."""

import datetime
import os
import shlex
import time
import uuid

import estate
import pytest
from conftest import ufw_rules, wait_for
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from estate import LOGS
from estate import stored_lines as stored

PORT = 2514  # logs_relp_port


@pytest.fixture(scope="module")
def log_host(groups, hosts):
    assert groups.get("logs"), "the cluster has no log host"
    return hosts[groups["logs"][0]]


@pytest.fixture(scope="module")
def log_address(groups, addresses):
    return addresses[groups["logs"][0]]


@pytest.mark.parametrize("sender", ["cluster-app1", "cluster-worker1", "cluster-web1", "cluster-db1"])
def test_a_service_s_line_reaches_the_log_host_within_10_s(hosts, log_host, sender):
    """app1 is an app host, worker1 the worker and Node host."""
    marker = uuid.uuid4().hex
    unit = f"logs-probe-{marker[:8]}"
    hosts[sender].check_output(f"systemd-run --unit {unit} -p Type=oneshot --wait /bin/echo {marker}")
    logged = time.monotonic()
    line = wait_for(lambda: stored(log_host, sender, unit, marker), timeout=10, interval=0.5)
    assert line, f"{sender}'s {marker} not on the log host within 10 s"
    print(f"{sender}: on the log host after {time.monotonic() - logged:.1f} s")
    fields = line.split()
    assert fields[1] == sender and fields[2].startswith(unit + "["), line


def relp_session(client, target, cert=None, key=None, cacert="/etc/rsyslog-tls/ca.pem", message=""):
    """RELP over TLS from client to the log host: open, one syslog message,
    close. Returns what the server answered (empty when it refused)."""
    data = "relp_version=0\nrelp_software=probe\ncommands=syslog"
    frames = f"1 open {len(data)} {data}\n"
    if message:
        frames += f"2 syslog {len(message)} {message}\n3 close 0\n"
    auth = f"-cert {cert} -key {key}" if cert else ""
    command = (f"(printf %s {shlex.quote(frames)}; sleep 3) | timeout 8 openssl s_client -quiet "
               f"-connect {target}:{PORT} -CAfile {cacert} {auth} 2>/dev/null")
    return client.run(command).stdout


def syslog_message(host_name, marker):
    return f"<14>1 2026-01-01T00:00:00Z {host_name} relp-probe - - - {marker}"


def test_an_estate_host_with_its_certificate_is_heard(backup1, log_host, log_address):
    """The probe below works: with the host's own certificate the session opens
    and the line is stored."""
    marker = uuid.uuid4().hex
    answer = relp_session(backup1, log_address, "/etc/rsyslog-tls/cert.pem", "/etc/rsyslog-tls/key.pem",
                          message=syslog_message("cluster-backup1", marker))
    assert "1 rsp" in answer and "200 OK" in answer, answer
    assert wait_for(lambda: stored(log_host, "cluster-backup1", "relp-probe", marker), timeout=10, interval=0.5)


def sign_with_the_log_ca(name):
    """A key and certificate for `name` signed by the estate's own log CA (on
    the controller): a valid certificate whose name the inventory lacks."""
    pki = os.path.join(estate.INVENTORY, ".pki", "logs")
    with open(os.path.join(pki, "ca.key"), "rb") as k, open(os.path.join(pki, "ca.pem"), "rb") as c:
        ca_key = serialization.load_pem_private_key(k.read(), password=None)
        ca_cert = x509.load_pem_x509_certificate(c.read())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


def put(host, path, text):
    host.check_output(f"install -m 0600 /dev/null {path} && printf %s {shlex.quote(text)} > {path}")


def test_clients_the_inventory_does_not_name_are_refused_and_nothing_is_stored(backup1, log_host, log_address):
    """From an address UFW admits (an estate host), three strangers: no
    certificate, a certificate from another CA (with an estate host's name),
    and one from the estate's own CA for a name not in the inventory."""
    work = "/tmp/logs-stranger"
    backup1.check_output(
        f"rm -rf {work} && mkdir -p {work} && cd {work} && "
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem "
        "-days 1 -subj '/CN=rogue CA' && "
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout rogue.key -out rogue.csr "
        "-subj /CN=cluster-backup1 -addext subjectAltName=DNS:cluster-backup1 && "
        "openssl x509 -req -in rogue.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out rogue.pem -days 1 "
        "-copy_extensions copy")
    key, cert = sign_with_the_log_ca("intruder.example.com")
    put(backup1, f"{work}/intruder.key", key)
    put(backup1, f"{work}/intruder.pem", cert)
    strangers = {
        "no certificate": (None, None),
        "another CA": (f"{work}/rogue.pem", f"{work}/rogue.key"),
        "a name not in the inventory": (f"{work}/intruder.pem", f"{work}/intruder.key"),
    }
    markers = {}
    for label, (cert_path, key_path) in strangers.items():
        markers[label] = uuid.uuid4().hex
        answer = relp_session(backup1, log_address, cert_path, key_path,
                              message=syslog_message("cluster-backup1", markers[label]))
        assert "rsp" not in answer, f"{label}: the log host answered {answer!r}"
    time.sleep(5)
    for label, marker in markers.items():
        found = log_host.run(f"grep -rlF {marker} {LOGS}").stdout
        assert not found, f"{label}: stored in {found}"
    backup1.run(f"rm -rf {work}")


def test_lines_logged_while_the_log_host_is_down_all_arrive_when_it_is_back(app1, log_host):
    marker = uuid.uuid4().hex
    count = 200
    # The socket too: systemd starts rsyslog again through syslog.socket at once.
    log_host.check_output("systemctl stop syslog.socket rsyslog.service")
    try:
        app1.check_output(f"for i in $(seq 1 {count}); do logger -t outage-probe \"{marker} $i\"; done")
        time.sleep(5)
        assert not stored(log_host, "cluster-app1", "outage-probe", marker), "the log host was not down"
    finally:
        log_host.check_output("systemctl start rsyslog.service")
    started = time.monotonic()

    def arrived():
        return len(stored(log_host, "cluster-app1", "outage-probe", marker).splitlines())
    got = wait_for(lambda: arrived() == count and count, timeout=90, interval=2)
    print(f"{arrived()} of {count} lines after {time.monotonic() - started:.1f} s")
    assert got == count, f"{arrived()} of {count} lines arrived"
    lines = stored(log_host, "cluster-app1", "outage-probe", marker).splitlines()
    assert sorted(int(line.rsplit(" ", 1)[1]) for line in lines) == list(range(1, count + 1))


def test_one_request_s_id_is_found_in_nginx_django_worker_and_node_api_lines(web1, log_host, groups, token):
    """GET /api/quote/ through Nginx: Django asks node-api (on the node host)
    for a quote and enqueues a Celery task recording it (on the worker host).
    The id Nginx gave the request is in every one of their stored lines."""
    web1.check_output(
        "curl -sk -o /tmp/quote-body -D /tmp/quote-headers -H 'Host: localhost' "
        f"-H 'Authorization: Token {token}' 'https://127.0.0.1/api/quote/?amount=25.00&currency=EUR'")
    headers = web1.check_output("cat /tmp/quote-headers")
    assert headers.split()[1] == "200", headers + web1.check_output("cat /tmp/quote-body")
    request_id = next(line.split(":", 1)[1].strip() for line in headers.splitlines()
                      if line.lower().startswith("x-request-id:"))
    web, worker, node = groups["web"][0], groups["worker"][0], groups["node"][0]

    def seen(out, host, service, text=""):
        return any(f" {host} " in line and f" {service}[" in line and text in line for line in out.splitlines())
    wanted = {
        "Nginx": lambda out: seen(out, web, "nginx", f"request_id={request_id}"),
        # Django's own line (not only Gunicorn's access line), on either app host.
        "Django": lambda out: any(seen(out, app, f"{estate.APP}-gunicorn", "INFO core.views")
                                  for app in groups["app"]),
        "the Celery worker": lambda out: seen(out, worker, f"{estate.APP}-celery-worker"),
        "node-api": lambda out: seen(out, node, f"{estate.APP}-node-api", f'"request_id":"{request_id}"'),
    }

    def trail():
        # Only lines carrying the id (estate-logs -r).
        return log_host.run(f"estate-logs -n 500 -r {request_id}").stdout

    wait_for(lambda: all(check(trail()) for check in wanted.values()), timeout=20, interval=1)
    out = trail()
    missing = [name for name, check in wanted.items() if not check(out)]
    assert not missing, f"request {request_id} not in the lines of {missing}:\n{out}"


def test_the_log_port_is_open_to_the_estate_s_hosts_only(log_host, groups, addresses):
    name = groups["logs"][0]
    sources = {source for to, action, source in ufw_rules(log_host) if to == f"{PORT}/tcp"}
    assert sources == {addresses[h] for h in groups["all"] if h != name}
