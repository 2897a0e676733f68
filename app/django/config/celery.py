"""Celery application: `celery -A config worker` / `celery -A config beat`."""

import logging.config
import os

from celery import Celery
from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun

from config.request_id import TASK_HEADER, get_request_id, request_id_var, valid_request_id

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.prod")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _use_django_logging(**kwargs):
    # Same one-line format as Django instead of Celery's timestamped one.
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


# The request id travels with the tasks a request (or a task) publishes, so
# the worker's lines for them carry it; beat's tasks have none ("-").
@before_task_publish.connect
def _send_request_id(headers=None, **kwargs):
    request_id = get_request_id()
    if request_id and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


@task_prerun.connect
def _take_request_id(task=None, **kwargs):
    # An eager task runs inside the request and keeps its id.
    if task is None or task.request.is_eager:
        return
    request_id_var.set(valid_request_id(getattr(task.request, TASK_HEADER, None)))


@task_postrun.connect
def _drop_request_id(task=None, **kwargs):
    if task is None or task.request.is_eager:
        return
    request_id_var.set(None)
