"""Monitoring seen from outside, on the all-in-one host (also the monitoring
host): Prometheus scrapes every target the inventory implies and all answer;
every scrape endpoint wants TLS and credentials; the console overview
answers through the authenticated UI with the serving release; a backup run
brings the backup-age series back to near zero; a burst of 5xx answers
through Nginx raises the 5xx ratio and its alert; a stopped Celery worker
reaches the webhook receiver as an alert, and its resolution follows once
the worker is back."""

import time

import pytest
from estate import (
    APP,
    alert_notifications,
    curl,
    playbook,
    prometheus_api,
    prometheus_query,
    secrets,
    start_alert_hook,
    stop_alert_hook,
    targets_not_up,
    wait_for,
)

# Jobs of an all-in-one estate: an exporter per service, the site probe, and
# Prometheus, Alertmanager and the blackbox exporter themselves.
JOBS = {"node", "postgres", "redis", "nginx", "django", "probe", "prometheus", "alertmanager", "blackbox"}
# node, postgres, redis, nginx exporters, Gunicorn's request metrics and
# Prometheus' own UI/API.
PORTS = [9100, 9187, 9121, 9113, 9808, 9090]


def test_every_target_from_the_inventory_is_up(host):
    result = wait_for(lambda: targets_not_up(host, JOBS) == ([], set()) or None, timeout=120)
    assert result, "targets not up, jobs missing: %s" % (targets_not_up(host, JOBS),)


@pytest.mark.parametrize("port", PORTS)
def test_scrape_endpoints_want_tls_and_credentials(host, port):
    url = f"https://127.0.0.1:{port}/metrics"
    assert curl(host, url)[0] == "401"
    assert curl(host, url, "-u", "prometheus:not-the-password")[0] == "401"
    scrape = "prometheus:" + secrets()["vault_monitoring_scrape_password"]
    status, _, body, _ = curl(host, url, "-u", scrape)
    assert status == "200" and "# TYPE" in body
    # Plain HTTP gets no metrics (a TLS server answers 400 or hangs up).
    assert curl(host, f"http://127.0.0.1:{port}/metrics", "-u", scrape, check=False)[0] != "200"


def test_console_overview_shows_the_serving_release(host):
    release = host.check_output(f"basename $(readlink /srv/{APP}/current)")
    url = "https://127.0.0.1:9090/consoles/estate.html"
    assert curl(host, url)[0] == "401"
    admin = "admin:" + secrets()["vault_monitoring_admin_password"]

    def page():
        status, _, body, _ = curl(host, url, "-u", admin)
        return body if status == "200" and release in body else None

    body = wait_for(page, timeout=60)
    assert body, f"the overview does not show release {release}"
    assert "Estate overview" in body and "No release reported" not in body


@pytest.mark.state_changing
def test_backup_run_brings_backup_age_back_to_near_zero(host):
    code, out = playbook("backup.yml")
    assert code == 0, out[-3000:]
    metric = f"{APP}_backup_last_success_timestamp_seconds"
    age = wait_for(lambda: [v for _, v in prometheus_query(host, f"time() - {metric}") if v < 120], timeout=60)
    assert age, f"backup age after a run: {prometheus_query(host, f'time() - {metric}')}"


@pytest.mark.state_changing
def test_stopped_worker_alerts_the_webhook_and_resolves(host):
    unit = f"{APP}-celery-worker.service"
    start_alert_hook(host)
    try:
        def notified(status):
            return [labels for s, labels in alert_notifications(host)
                    if s == status and labels.get("alertname") == "ServiceNotActive" and labels.get("name") == unit]

        assert not notified("firing"), "alert before the worker stopped"
        host.run(f"systemctl stop {unit}")
        stopped = time.monotonic()
        try:
            firing = wait_for(lambda: notified("firing"), timeout=150, interval=3)
            assert firing, f"no ServiceNotActive alert for {unit}: {alert_notifications(host)}"
            took = time.monotonic() - stopped
        finally:
            host.run(f"systemctl start {unit}")
        resolved = wait_for(lambda: notified("resolved"), timeout=150, interval=3)
        assert resolved, f"the alert did not resolve after {unit} started again: {alert_notifications(host)}"
        print(f"alert delivered {took:.0f} s after the stop")
    finally:
        stop_alert_hook(host)


def test_prometheus_api_refuses_anonymous_requests(host):
    assert prometheus_api(host, "/api/v1/targets", password="wrong") is None


@pytest.mark.state_changing
def test_5xx_burst_through_nginx_raises_the_error_ratio_and_its_alert(host):
    """PostgreSQL stopped: /readyz answers 503 through Nginx; the ratio of
    5xx answers (Gunicorn's request metrics) rises, and HttpErrorRatioHigh
    fires within the scenario's short window."""
    unit = host.check_output("systemctl list-units --plain --no-legend --type=service 'postgresql@*-main.service'").split()[0]
    ratio = ('sum(rate(django_http_responses_total_by_status_total{status=~"5.."}[1m]))'
             " / sum(rate(django_http_responses_total_by_status_total[1m]))")
    host.run(f"systemctl stop {unit}")
    try:
        # Spread over several scrapes: a series first seen after the whole
        # burst has no rate yet.
        statuses = host.check_output(
            "for i in $(seq 40); do curl -sk -o /dev/null -w '%{http_code} ' -H 'Host: localhost' "
            "https://127.0.0.1/readyz; sleep 0.5; done").split()
        assert statuses.count("503") == 40, statuses
        raised = wait_for(lambda: [v for _, v in prometheus_query(host, ratio) if v > 0.05], timeout=60)
        assert raised, f"5xx ratio: {prometheus_query(host, ratio)}"

        def firing():
            alerts = (prometheus_api(host, "/api/v1/alerts") or {}).get("alerts", [])
            return [a for a in alerts if a["labels"]["alertname"] == "HttpErrorRatioHigh" and a["state"] == "firing"]

        assert wait_for(firing, timeout=90, interval=3), "HttpErrorRatioHigh did not fire"
    finally:
        host.run(f"systemctl start {unit}")
    assert wait_for(lambda: curl(host, "https://localhost/readyz", check=False)[0] == "200", timeout=60)
