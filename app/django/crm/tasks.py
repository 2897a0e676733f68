import logging

from celery import shared_task
from django.utils import timezone

from crm.models import Deal

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def recompute_deal_summary(deal_id):
    try:
        deal = Deal.objects.select_related("client").get(pk=deal_id)
    except Deal.DoesNotExist:
        log.warning("recompute_deal_summary: deal %s is gone", deal_id)
        return
    summary = deal.build_summary()
    # update() rather than save(): only touch the computed fields.
    Deal.objects.filter(pk=deal_id).update(summary=summary, summary_updated_at=timezone.now())
    log.info("deal %s summary recomputed", deal_id)
