from django.core.management.base import BaseCommand
from django.db import transaction

from core.models import Heartbeat, Strategy
from core.tasks import HEARTBEAT_NAME

# Settings the Node services read. Existing rows are left alone so that an
# operator's edits in the admin survive re-deploys (seeding is idempotent).
DEFAULT_STRATEGIES = [
    {
        "name": "payout",
        "description": "Node payout worker: fee and limits for simulated payouts.",
        "config": {
            "fee_percent": "0.50",
            "fee_min": "0.10",
            "max_amount": "10000.00",
            "currencies": ["EUR", "USD", "GBP"],
            "processing_delay_ms": 200,
        },
    },
    {
        "name": "deposit-monitor",
        "description": "Node deposit monitor: simulated deposit sources.",
        "config": {"sources": ["bank-sim", "card-sim"], "currency": "EUR", "max_amount": "500.00"},
    },
    {
        "name": "quote",
        "description": "Node API /quote: spread applied to quotes.",
        "config": {"spread_percent": "0.25"},
    },
]


class Command(BaseCommand):
    help = "Create the default strategies and heartbeat row (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        created = 0
        for item in DEFAULT_STRATEGIES:
            _, was_created = Strategy.objects.get_or_create(
                name=item["name"],
                defaults={"description": item["description"], "config": item["config"], "enabled": True},
            )
            created += was_created
        _, hb_created = Heartbeat.objects.get_or_create(name=HEARTBEAT_NAME)
        created += hb_created
        self.stdout.write(f"seed_reference_data: {created} object(s) created")
