"""Helpers for the edge scenario: every request is made inside the test host."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared", "tests"))
import estate  # noqa: E402  (the scenarios' test library)

SITE = "edge.test"


class Edge:
    def __init__(self, host):
        self.host = host

    def curl(self, url, *args, name=SITE, check=True):
        """curl inside the host, trusting only pebble's chain.

        Returns (http_code, headers_text, body, curl_exit_status)."""
        return estate.curl(self.host, url, *args, name=name, cacert="/tmp/edge-ca.pem", timeout=20, check=check)

    @staticmethod
    def header(headers, name):
        return estate.header(headers, name)

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
