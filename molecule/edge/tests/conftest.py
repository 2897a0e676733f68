"""Helpers for the edge scenario: every request is made inside the test host."""

import shlex

import pytest

SITE = "edge.test"


class Edge:
    def __init__(self, host):
        self.host = host

    def curl(self, url, *args, name=SITE, check=True):
        """curl inside the host with the site's name resolving to 127.0.0.1.

        Returns (http_code, headers_text, body, curl_exit_status)."""
        cmd = (
            "curl -sS -o /tmp/edge-body -D /tmp/edge-headers -w '%{http_code}' --max-time 20 "
            f"--cacert /tmp/edge-ca.pem --resolve {name}:443:127.0.0.1 --resolve {name}:80:127.0.0.1 "
            + " ".join(shlex.quote(a) for a in args)
            + " "
            + shlex.quote(url)
        )
        result = self.host.run(cmd)
        if check:
            assert result.rc == 0, result.stderr
        headers = self.host.run("cat /tmp/edge-headers 2>/dev/null").stdout
        body = self.host.run("cat /tmp/edge-body 2>/dev/null").stdout
        return result.stdout.strip(), headers, body, result.rc

    def header(self, headers, name):
        values = [
            line.split(":", 1)[1].strip()
            for line in headers.splitlines()
            if line.lower().startswith(name.lower() + ":")
        ]
        return values

    def served_certificate(self, name=SITE):
        """PEM of the certificate nginx presents for name."""
        result = self.host.run(
            f"openssl s_client -connect 127.0.0.1:443 -servername {name} </dev/null 2>/dev/null"
            " | openssl x509 -noout -serial -issuer"
        )
        assert result.rc == 0, result.stderr
        return dict(line.split("=", 1) for line in result.stdout.splitlines())


@pytest.fixture(scope="module")
def edge(host):
    # The chain the site serves ends at pebble's root, fetched from pebble's
    # management API: clients in the tests trust it, nothing else.
    fetch = host.run(
        "curl -fsS https://localhost:15000/roots/0 -o /tmp/edge-root.pem"
        " && curl -fsS https://localhost:15000/intermediates/0 -o /tmp/edge-int.pem"
        " && cat /tmp/edge-root.pem /tmp/edge-int.pem > /tmp/edge-ca.pem"
    )
    assert fetch.rc == 0, fetch.stderr
    return Edge(host)
