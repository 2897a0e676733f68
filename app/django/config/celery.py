"""Celery application: `celery -A config worker` / `celery -A config beat`."""

import logging.config
import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.prod")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _use_django_logging(**kwargs):
    # Same one-line format as Django instead of Celery's timestamped one.
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
