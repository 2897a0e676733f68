import logging
import socket
import time

from celery import shared_task
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.exceptions import ErrorDrill
from core.models import Heartbeat, TaskProbe

log = logging.getLogger(__name__)

HEARTBEAT_NAME = "celery-beat"


@shared_task(ignore_result=True)
def record_heartbeat(name=HEARTBEAT_NAME):
    """Scheduled by beat: count += 1, last_beat = now."""
    now = timezone.now()
    beat, _ = Heartbeat.objects.get_or_create(name=name)
    # F() so concurrent workers never lose an increment.
    Heartbeat.objects.filter(pk=beat.pk).update(count=F("count") + 1, last_beat=now)
    log.info("heartbeat %s recorded", name)


@shared_task(bind=True)
def run_probe(self, probe_id):
    """Sleeps as requested, then marks the probe completed."""
    updated = TaskProbe.objects.filter(pk=probe_id).update(
        started_at=timezone.now(), runs=F("runs") + 1, worker=self.request.hostname or socket.gethostname()
    )
    if not updated:
        log.warning("probe %s does not exist", probe_id)
        return None
    probe = TaskProbe.objects.get(pk=probe_id)
    if probe.sleep:
        time.sleep(probe.sleep)
    with transaction.atomic():
        TaskProbe.objects.filter(pk=probe_id, completed_at__isnull=True).update(completed_at=timezone.now())
    log.info("probe %s completed after %.1fs", probe_id, probe.sleep)
    return probe_id


@shared_task(ignore_result=True)
def error_drill():
    """Fails on purpose: the Celery half of the error drill."""
    log.info("error drill: raising in a task")
    raise ErrorDrill("error drill in a Celery task")
