"""The edge tier (nginx, self-signed TLS) on the all-in-one host, from inside it.

Requests go to 127.0.0.1 with the site's name (app_server_names: localhost).
The tests named *_app_* need the application tier behind nginx; they reach
the app through `<app>-manage` (manage.py as the app user, from the app tier).
"""

import json
import uuid

import estate
from estate import APP, header

SITE = "localhost"
URL = f"https://{SITE}"


def curl(host, url, *args):
    """(status, headers, body) of a request made inside the host."""
    return estate.curl(host, url, *args, name=SITE)[:3]


def test_web_http_redirects_to_https(host):
    status, headers, _ = curl(host, f"http://{SITE}/admin/")
    assert status == "301"
    assert header(headers, "Location") == [f"https://{SITE}/admin/"]


def test_web_https_answers_with_hsts(host):
    _, headers, _ = curl(host, f"{URL}/")
    hsts = header(headers, "Strict-Transport-Security")
    assert len(hsts) == 1, headers
    assert int(hsts[0].split("max-age=")[1].split(";")[0]) >= 63072000
    assert header(headers, "X-Content-Type-Options") == ["nosniff"]


def test_web_app_site_root_is_a_landing_page(host):
    # A newcomer's first request: the printed URL answers 200, not 404.
    status, _, version = curl(host, f"{URL}/version")
    assert status == "200", version[:500]
    release = json.loads(version)["release"]
    status, headers, body = curl(host, f"{URL}/")
    assert status == "200", body[:500]
    assert "text/html" in " ".join(header(headers, "Content-Type"))
    assert release in body, body[:500]
    assert 'href="/api/"' in body and 'href="/admin/"' in body


def test_web_certificate_is_self_signed_for_the_server_names(host):
    sans = host.run(
        f"openssl s_client -connect 127.0.0.1:443 -servername {SITE} </dev/null 2>/dev/null"
        " | openssl x509 -noout -ext subjectAltName"
    ).stdout
    assert "DNS:localhost" in sans and "IP Address:127.0.0.1" in sans, sans


def test_web_admin_from_outside_the_allowlist_gets_403(host):
    # 127.0.0.2: a loopback address that is not on the allowlist.
    status, _, _ = curl(host, f"{URL}/admin/login/", "--interface", "127.0.0.2")
    assert status == "403"


def test_web_app_admin_login_page_from_inside_the_allowlist(host):
    status, _, body = curl(host, f"{URL}/admin/login/")
    assert status == "200", body[:500]
    assert 'name="username"' in body and 'name="password"' in body


def test_web_app_accepts_a_20_mib_document_upload(host):
    token = host.run(f"/usr/local/bin/{APP}-manage create_api_token edge-upload-test")
    assert token.rc == 0, token.stderr
    auth = f"Authorization: Token {token.stdout.strip().splitlines()[-1]}"
    status, _, body = curl(
        host, f"{URL}/api/clients/", "-H", auth, "-H", "Content-Type: application/json",
        "--data", '{"name": "Upload test %s"}' % uuid.uuid4().hex[:8],
    )
    assert status == "201", body
    client_id = json.loads(body)["id"]
    host.run("head -c 20971520 /dev/zero | tr '\\0' 'a' > /tmp/web-20m.txt")  # 20 MiB, the app's limit
    status, _, body = curl(
        host, f"{URL}/api/documents/", "-H", auth,
        "-F", f"client={client_id}", "-F", "title=twenty mebibytes", "-F", "file=@/tmp/web-20m.txt",
    )
    assert status == "201", body[:500]
    assert json.loads(body)["size"] == 20971520
