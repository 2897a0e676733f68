"""The Gunicorn workers' metrics over HTTPS with basic auth, for Prometheus.

Started by the Gunicorn master (gunicorn.conf.py) as a child process when
APP_METRICS_LISTEN is set; it adds up the files every worker writes in
PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode).
Environment:
  APP_METRICS_LISTEN       address:port to listen on
  APP_METRICS_TLS_CERT/KEY the certificate and key (PEM)
  APP_METRICS_AUTH_SHA256  hex SHA-256 of "user:password" a scrape must send
"""

import base64
import hashlib
import hmac
import os
import socketserver
import ssl
import sys
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app, multiprocess


def authorized(header, expected_sha256):
    """Whether an Authorization header carries the credentials whose
    SHA-256 ("user:password") is expected_sha256."""
    if not expected_sha256 or not header or not header.startswith("Basic "):
        return False
    try:
        pair = base64.b64decode(header[6:], validate=True)
    except ValueError:
        return False
    return hmac.compare_digest(hashlib.sha256(pair).hexdigest(), expected_sha256)


def application(expected_sha256, registry):
    metrics = make_wsgi_app(registry)

    def app(environ, start_response):
        if not authorized(environ.get("HTTP_AUTHORIZATION"), expected_sha256):
            start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="metrics"'),
                                                ("Content-Type", "text/plain")])
            return [b"Unauthorized\n"]
        return metrics(environ, start_response)

    return app


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # scrapes every few seconds: no access log
        pass


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


def main():
    host, _, port = os.environ["APP_METRICS_LISTEN"].rpartition(":")
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    server = make_server(host, int(port), application(os.environ.get("APP_METRICS_AUTH_SHA256", ""), registry),
                         server_class=_ThreadingServer, handler_class=_QuietHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(os.environ["APP_METRICS_TLS_CERT"], os.environ["APP_METRICS_TLS_KEY"])
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"metrics on https://{host}:{port}/metrics", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
