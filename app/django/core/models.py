from django.db import models


class Strategy(models.Model):
    """Named settings the Node services read through the service API."""

    name = models.SlugField(max_length=64, unique=True)
    enabled = models.BooleanField(default=True)
    config = models.JSONField(default=dict, blank=True)
    description = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "strategies"

    def __str__(self):
        return self.name


class Heartbeat(models.Model):
    """Advanced by the beat task: shows beat and a worker are both alive."""

    name = models.CharField(max_length=64, unique=True)
    last_beat = models.DateTimeField(null=True, blank=True)
    count = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"{self.name} ({self.count})"


class TaskProbe(models.Model):
    """A row per probe task, so callers can count tasks that completed
    (e.g. across a worker restart)."""

    sleep = models.FloatField(default=0)
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    runs = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"Probe {self.pk} ({self.status})"

    @property
    def status(self):
        if self.completed_at:
            return "completed"
        return "started" if self.started_at else "pending"
