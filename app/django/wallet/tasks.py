import logging
from decimal import Decimal, InvalidOperation

import redis
from celery import shared_task
from django.db import transaction
from django.utils import timezone

from config.request_id import get_request_id
from core.models import Strategy
from wallet.models import Payout, Quote
from wallet.queue import enqueue_payout

log = logging.getLogger(__name__)


def _payout_rules():
    strategy = Strategy.objects.filter(name="payout", enabled=True).first()
    return strategy.config if strategy else {}


def validate_payout(payout, rules):
    """Returns an error message, or "" when the payout may be sent."""
    currencies = rules.get("currencies")
    if currencies and payout.currency not in currencies:
        return f"currency {payout.currency} not enabled"
    try:
        max_amount = Decimal(str(rules["max_amount"])) if "max_amount" in rules else None
    except (InvalidOperation, ValueError):
        max_amount = None
    if max_amount is not None and payout.amount > max_amount:
        return f"amount {payout.amount} above the limit {max_amount}"
    return ""


@shared_task(
    ignore_result=True,
    autoretry_for=(redis.exceptions.ConnectionError, redis.exceptions.TimeoutError),
    retry_backoff=True,
    max_retries=5,
)
def process_payout_request(payout_id):
    """Validate a pending payout and hand it to the Node worker's queue."""
    with transaction.atomic():
        payout = Payout.objects.select_for_update().filter(pk=payout_id).first()
        if payout is None:
            log.warning("payout %s is gone", payout_id)
            return
        if payout.status != Payout.Status.PENDING or payout.queued_at:
            # Redelivered task (acks_late): already handled.
            log.info("payout %s already %s, skipping", payout_id, payout.status)
            return
        error = validate_payout(payout, _payout_rules())
        if error:
            payout.status = Payout.Status.FAILED
            payout.error = error
            payout.processed_at = timezone.now()
            payout.save(update_fields=["status", "error", "processed_at", "updated_at"])
            log.info("payout %s rejected: %s", payout_id, error)
            return
        # Push before commit: if we die after the push, the task reruns and
        # may push twice; the worker skips payouts Django reports as final.
        # At-least-once beats losing a payout.
        enqueue_payout(payout)
        payout.queued_at = timezone.now()
        payout.save(update_fields=["queued_at", "updated_at"])
    log.info("payout %s queued for the node worker", payout_id)


@shared_task(ignore_result=True)
def record_quote(quote, user_id=None):
    """Stores a quote node-api gave (GET /api/quote/)."""
    record = Quote.objects.create(
        amount=quote["amount"],
        currency=quote["currency"],
        fee=quote["fee"],
        spread=quote["spread"],
        net=quote["net"],
        requested_by_id=user_id,
        request_id=get_request_id() or "",
    )
    log.info("quote %s recorded: %s %s, net %s", record.pk, record.amount, record.currency, record.net)
