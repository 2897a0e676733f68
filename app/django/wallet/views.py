import logging

from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from core.service_auth import ServiceAPIMixin
from wallet.models import Deposit, Payout
from wallet.serializers import DepositSerializer, PayoutResultSerializer, PayoutSerializer
from wallet.tasks import process_payout_request

log = logging.getLogger(__name__)


class PayoutViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Create -> pending; a Celery task validates it and queues it in Redis
    for the Node payout worker, which reports the result back."""

    queryset = Payout.objects.all()
    serializer_class = PayoutSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        if not self.request.user.is_staff:
            queryset = queryset.filter(created_by=self.request.user)
        wanted = self.request.query_params.get("status")
        return queryset.filter(status=wanted) if wanted else queryset

    def perform_create(self, serializer):
        payout = serializer.save(created_by=self.request.user, status=Payout.Status.PENDING)
        transaction.on_commit(lambda: process_payout_request.delay(payout.pk))

    def create(self, request, *args, **kwargs):
        response = super().create(request, *args, **kwargs)
        response.status_code = status.HTTP_202_ACCEPTED
        return response


class DepositViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Deposit.objects.all()
    serializer_class = DepositSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        tx_id = self.request.query_params.get("tx_id")
        return queryset.filter(tx_id=tx_id) if tx_id else queryset


class ServicePayoutResultView(ServiceAPIMixin, APIView):
    """POST /api/service/payouts/<id>/result/ from the Node payout worker.

    processing: the worker took it. paid/failed: final. Repeating the same
    final report is fine (200); changing a final result is refused (409),
    which also tells a worker holding a duplicate queue item to skip it."""

    def post(self, request, pk):
        serializer = PayoutResultSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():
            payout = get_object_or_404(Payout.objects.select_for_update(), pk=pk)
            if payout.status in Payout.FINAL_STATUSES:
                if payout.status == data["status"]:
                    return Response(PayoutSerializer(payout).data)
                return Response(
                    {"detail": f"Payout is already {payout.status}.", "status": payout.status},
                    status=status.HTTP_409_CONFLICT,
                )
            payout.status = data["status"]
            payout.processed_by = data.get("worker", payout.processed_by) or payout.processed_by
            if data["status"] in Payout.FINAL_STATUSES:
                payout.processed_at = timezone.now()
                payout.fee = data.get("fee")
                payout.tx_id = data.get("tx_id", "")
                payout.error = data.get("error", "")
            payout.save()
        log.info("payout %s reported %s by %s", pk, payout.status, payout.processed_by or "?")
        return Response(PayoutSerializer(payout).data)


class ServiceDepositView(ServiceAPIMixin, APIView):
    """POST /api/service/deposits/ from the Node deposit monitor; the tx_id
    makes it idempotent (201 new, 200 already known)."""

    def post(self, request):
        serializer = DepositSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tx_id = serializer.validated_data["tx_id"]
        existing = Deposit.objects.filter(tx_id=tx_id).first()
        if existing:
            return Response(DepositSerializer(existing).data, status=status.HTTP_200_OK)
        try:
            with transaction.atomic():
                deposit = serializer.save()
        except IntegrityError:  # lost a race with the same tx_id
            deposit = Deposit.objects.get(tx_id=tx_id)
            return Response(DepositSerializer(deposit).data, status=status.HTTP_200_OK)
        log.info("deposit %s recorded: %s %s from %s", tx_id, deposit.amount, deposit.currency, deposit.source)
        return Response(DepositSerializer(deposit).data, status=status.HTTP_201_CREATED)
