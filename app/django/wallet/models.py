from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use a 3-letter upper-case currency code.")


class Payout(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"

    FINAL_STATUSES = {Status.PAID, Status.FAILED}

    amount = models.DecimalField(max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))])
    currency = models.CharField(max_length=3, default="EUR", validators=[currency_validator])
    destination = models.CharField(max_length=128)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set when the Celery task handed it to the Node worker's Redis queue.
    queued_at = models.DateTimeField(null=True, blank=True)
    # Result fields, reported by the Node payout worker.
    fee = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    tx_id = models.CharField(max_length=128, blank=True)
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    processed_by = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"Payout {self.pk} {self.amount} {self.currency} ({self.status})"


class Deposit(models.Model):
    tx_id = models.CharField(max_length=128, unique=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))])
    currency = models.CharField(max_length=3, default="EUR", validators=[currency_validator])
    source = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"Deposit {self.tx_id} {self.amount} {self.currency}"


class Quote(models.Model):
    """A quote node-api gave a user (GET /api/quote/), recorded by a Celery
    task so the answer does not wait for the write."""

    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    fee = models.DecimalField(max_digits=14, decimal_places=2)
    spread = models.DecimalField(max_digits=14, decimal_places=2)
    net = models.DecimalField(max_digits=14, decimal_places=2)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # X-Request-ID of the request that asked: finds its log lines.
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"Quote {self.pk} {self.amount} {self.currency} (net {self.net})"
