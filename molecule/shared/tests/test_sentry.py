"""Errors reach Sentry: a Sentry-protocol recorder (an HTTP server keeping
every envelope it is sent) listens where the scenario's DSNs point
(127.0.0.1:9911, molecule group_vars); an exception raised in a Django view,
in a Celery task and in node-api arrives there tagged with the running
release and the environment, without cookies or authorization headers."""

import base64
import gzip
import json
import zlib

import pytest
from estate import APP, secrets, start_recorder, wait_for

RECORDS = "/tmp/sentry-envelopes.jsonl"
# (Node's SDK sends its envelopes chunked, Python's with a length.)
RECORDER = (
    "import base64, http.server, json\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def body(self):\n"
    "        if self.headers.get('Transfer-Encoding', '').lower() != 'chunked':\n"
    "            return self.rfile.read(int(self.headers.get('Content-Length', 0)))\n"
    "        data = b''\n"
    "        while True:\n"
    "            size = int(self.rfile.readline().split(b';')[0], 16)\n"
    "            chunk = self.rfile.read(size); self.rfile.readline()\n"
    "            if not size:\n"
    "                return data\n"
    "            data += chunk\n"
    "    def do_POST(self):\n"
    "        body = self.body()\n"
    "        with open('%s', 'a') as f:\n"
    "            f.write(json.dumps({'path': self.path, 'encoding': self.headers.get('Content-Encoding', ''),\n"
    "                                'body': base64.b64encode(body).decode()}) + '\\n')\n"
    "        self.send_response(200); self.send_header('Content-Type', 'application/json'); self.end_headers()\n"
    "        self.wfile.write(b'{}')\n"
    "    def log_message(self, *args):\n"
    "        pass\n"
    "http.server.ThreadingHTTPServer(('127.0.0.1', 9911), H).serve_forever()\n" % RECORDS
)
# What a browser or a client would have sent, and must not reach Sentry.
COOKIE = "sessionid=cookie-that-must-not-leave"
AUTHORIZATION = "Basic bXVzdC1ub3QtbGVhdmU="


@pytest.fixture(scope="module")
def recorder(host):
    if "app" not in host.ansible.get_variables().get("group_names", []):
        pytest.skip("not an app host")
    start_recorder(host, "test-sentry-recorder", RECORDER, RECORDS)
    assert wait_for(lambda: host.run("curl -s -o /dev/null -X POST http://127.0.0.1:9911/x").rc == 0, timeout=10)
    host.run(f"rm -f {RECORDS}")
    yield host
    host.run("systemctl stop test-sentry-recorder")


def events(host):
    """Every event item ({...} payloads of type event) recorded so far."""
    found = []
    for line in host.run(f"cat {RECORDS} 2>/dev/null").stdout.splitlines():
        record = json.loads(line)
        body = base64.b64decode(record["body"])
        if record["encoding"] == "gzip":
            body = gzip.decompress(body)
        elif record["encoding"] == "deflate":
            body = zlib.decompress(body)
        parts = body.split(b"\n")
        # envelope header, then item header / payload pairs (a trailing newline leaves an odd part)
        for header, payload in zip(parts[1::2], parts[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                event = json.loads(payload)
                event["_project"] = record["path"].split("/")[2]
                found.append(event)
    return found


def drill_events(host, exception_type="ErrorDrill"):
    return [e for e in events(host)
            if any(v.get("type") == exception_type for v in e.get("exception", {}).get("values", []))]


def running_release(host):
    return host.check_output(f"basename $(readlink -f /srv/{APP}/current)")


def token():
    return secrets()["vault_app_node_service_token"]


def post(host, url, data=None):
    body = f"--data {json.dumps(json.dumps(data))} -H 'Content-Type: application/json'" if data else ""
    return host.run(
        f"curl -s -o /dev/null -w '%{{http_code}}' -X POST -H 'Host: localhost' -H 'X-Service-Token: {token()}' "
        f"-H 'Cookie: {COOKIE}' -H 'Authorization: {AUTHORIZATION}' {body} {url}").stdout


@pytest.mark.parametrize("where,url,data,answer,project", [
    ("a Django view", "http://127.0.0.1:8000/api/service/error-drill/", {"where": "view"}, "500", "1"),
    ("a Celery task", "http://127.0.0.1:8000/api/service/error-drill/", {"where": "task"}, "202", "1"),
    ("node-api", "http://127.0.0.1:3001/error-drill", None, "500", "2"),
])
def test_an_exception_reaches_sentry_with_release_and_environment_and_no_secrets(recorder, where, url, data,
                                                                                  answer, project):
    before = len(drill_events(recorder))
    assert post(recorder, url, data) == answer, where
    got = wait_for(lambda: len(drill_events(recorder)) > before, timeout=30, interval=1)
    assert got, f"no ErrorDrill event from {where} reached the recorder"
    event = drill_events(recorder)[-1]
    assert event["_project"] == project, f"{where} reported to project {event['_project']}"
    assert event.get("release") == running_release(recorder), (where, event.get("release"))
    assert event.get("environment") == "molecule", (where, event.get("environment"))
    text = json.dumps(event)
    assert "cookie-that-must-not-leave" not in text, f"{where}: the cookie reached Sentry"
    assert "bXVzdC1ub3QtbGVhdmU" not in text, f"{where}: the Authorization header reached Sentry"
    assert token() not in text, f"{where}: the service token reached Sentry"
    headers = {k.lower() for k in (event.get("request", {}).get("headers") or {})}
    assert not headers & {"cookie", "authorization", "x-service-token"}, (where, headers)


def test_the_drills_need_the_service_token(host):
    if "app" not in host.ansible.get_variables().get("group_names", []):
        pytest.skip("not an app host")
    status = host.run("curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Host: localhost' "
                      "-H 'Content-Type: application/json' --data '{\"where\": \"view\"}' "
                      "http://127.0.0.1:8000/api/service/error-drill/").stdout
    assert status == "403"
    status = host.run("curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:3001/error-drill").stdout
    assert status == "403"
