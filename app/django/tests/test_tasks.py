"""Celery tasks: in-process for unit checks, and through a real worker."""

import pytest
from django.core.management import call_command

from core.models import Heartbeat, Strategy, TaskProbe
from core.tasks import HEARTBEAT_NAME, record_heartbeat
from crm.models import Client, Deal
from tests.conftest import wait_until


@pytest.mark.django_db
def test_heartbeat_task_counts_and_stamps():
    record_heartbeat()
    record_heartbeat()
    beat = Heartbeat.objects.get(name=HEARTBEAT_NAME)
    assert beat.count == 2
    assert beat.last_beat is not None


def test_beat_schedule_runs_heartbeat_at_the_configured_interval(settings):
    from config.celery import app

    entry = app.conf.beat_schedule["record-heartbeat"]
    assert entry["task"] == "core.tasks.record_heartbeat"
    assert entry["schedule"] == settings.CELERY_HEARTBEAT_SECONDS


def test_celery_reliability_settings():
    from config.celery import app

    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json"
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit > conf.task_soft_time_limit


@pytest.mark.django_db
def test_seed_command_is_idempotent():
    call_command("seed_reference_data")
    first = sorted(Strategy.objects.values_list("name", "config"))
    Strategy.objects.filter(name="quote").update(config={"spread_percent": "9"})  # operator edit
    call_command("seed_reference_data")
    assert Strategy.objects.count() == len(first)
    assert Strategy.objects.get(name="quote").config == {"spread_percent": "9"}
    assert {name for name, _ in first} >= {"payout", "deposit-monitor", "quote"}
    assert Heartbeat.objects.filter(name=HEARTBEAT_NAME).count() == 1


@pytest.mark.django_db
def test_create_api_token_is_stable(capsys):
    call_command("create_api_token", "smoke")
    first = capsys.readouterr().out.strip()
    call_command("create_api_token", "smoke")
    assert capsys.readouterr().out.strip() == first
    assert len(first) == 40


def test_real_worker_runs_recompute_probe_and_heartbeat(celery_worker, api):
    deal = Deal.objects.create(client=Client.objects.create(name="Umbrella"), title="Vaccines", amount="10.00")
    response = api.post(f"/api/deals/{deal.pk}/recompute/")
    assert response.status_code == 202
    wait_until(
        lambda: Deal.objects.get(pk=deal.pk).summary.startswith("Umbrella: Vaccines"),
        what="deal summary",
        processes=[celery_worker],
    )

    probe = api.post("/api/tasks/probe/", {"sleep": 0.5}, format="json")
    assert probe.status_code == 202
    probe_id = probe.json()["id"]
    wait_until(
        lambda: api.get(f"/api/tasks/probe/{probe_id}/").json()["status"] == "completed",
        what="probe completed",
        processes=[celery_worker],
    )
    done = TaskProbe.objects.get(pk=probe_id)
    assert (done.completed_at - done.started_at).total_seconds() >= 0.5
    assert done.runs == 1
    assert api.get("/api/tasks/probe/summary/").json() == {"total": 1, "completed": 1, "pending": 0}

    record_heartbeat.delay()
    wait_until(
        lambda: Heartbeat.objects.filter(name=HEARTBEAT_NAME, count__gte=1).exists(),
        what="heartbeat from the worker",
        processes=[celery_worker],
    )


def test_probes_survive_a_worker_restart(celery_worker, api, tmp_path):
    """Warm shutdown (SIGTERM) finishes running tasks; the rest stay queued
    and a new worker runs them: no probe is lost."""
    from tests.conftest import start_celery_worker, wait_for_worker

    ids = [api.post("/api/tasks/probe/", {"sleep": 1}, format="json").json()["id"] for _ in range(4)]
    wait_until(
        lambda: TaskProbe.objects.filter(started_at__isnull=False).exists(),
        what="a probe to start",
        processes=[celery_worker],
    )
    assert celery_worker.stop() == 0
    replacement = start_celery_worker(tmp_path, name="worker2")
    try:
        wait_for_worker(replacement)
        wait_until(
            lambda: TaskProbe.objects.filter(pk__in=ids, completed_at__isnull=False).count() == len(ids),
            timeout=60,
            what="all probes completed",
            processes=[replacement],
        )
    finally:
        replacement.stop()
