from decimal import Decimal
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

ALLOWED_DOCUMENT_EXTENSIONS = {".pdf", ".png", ".jpg", ".jpeg", ".txt", ".csv", ".odt", ".ods", ".docx", ".xlsx"}


def validate_document(file):
    limit = settings.DOCUMENT_MAX_UPLOAD_BYTES
    if file.size > limit:
        raise ValidationError(f"File too large: {file.size} bytes, the limit is {limit} bytes.", code="file_too_large")
    extension = PurePath(file.name).suffix.lower()
    if extension not in ALLOWED_DOCUMENT_EXTENSIONS:
        allowed = ", ".join(sorted(ALLOWED_DOCUMENT_EXTENSIONS))
        raise ValidationError(f"File type {extension or '(none)'} not allowed; use one of {allowed}.")


class Client(models.Model):
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class Deal(models.Model):
    class Stage(models.TextChoices):
        LEAD = "lead", "Lead"
        NEGOTIATION = "negotiation", "Negotiation"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="deals")
    title = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="EUR")
    probability = models.PositiveSmallIntegerField(default=50, help_text="Percent, 0-100")
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.LEAD)
    # Computed by the recompute_deal_summary Celery task.
    summary = models.TextField(blank=True)
    summary_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return self.title

    def build_summary(self):
        expected = (self.amount * Decimal(self.probability) / Decimal(100)).quantize(Decimal("0.01"))
        documents = self.client.documents.count()
        return (
            f"{self.client.name}: {self.title}, {self.amount} {self.currency} at "
            f"{self.probability}% = {expected} {self.currency} expected; stage {self.stage}; "
            f"{documents} client document(s)"
        )


def document_upload_to(instance, filename):
    return f"client-documents/{instance.client_id}/{filename}"


class ClientDocument(models.Model):
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(max_length=200, blank=True)
    file = models.FileField(upload_to=document_upload_to, validators=[validate_document], max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    content_type = models.CharField(max_length=100, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return self.title or self.file.name
