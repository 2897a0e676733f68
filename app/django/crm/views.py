from django.db import transaction
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from crm.models import Client, ClientDocument, Deal
from crm.serializers import ClientDocumentSerializer, ClientSerializer, DealSerializer
from crm.tasks import recompute_deal_summary


class ClientViewSet(viewsets.ModelViewSet):
    queryset = Client.objects.all()
    serializer_class = ClientSerializer


class DealViewSet(viewsets.ModelViewSet):
    queryset = Deal.objects.select_related("client")
    serializer_class = DealSerializer

    def perform_create(self, serializer):
        deal = serializer.save()
        transaction.on_commit(lambda: recompute_deal_summary.delay(deal.pk))

    def perform_update(self, serializer):
        deal = serializer.save()
        transaction.on_commit(lambda: recompute_deal_summary.delay(deal.pk))

    @action(detail=True, methods=["post"])
    def recompute(self, request, pk=None):
        deal = self.get_object()
        transaction.on_commit(lambda: recompute_deal_summary.delay(deal.pk))
        return Response({"id": deal.pk, "queued": True}, status=status.HTTP_202_ACCEPTED)


class ClientDocumentViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    queryset = ClientDocument.objects.select_related("client")
    serializer_class = ClientDocumentSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        queryset = super().get_queryset()
        client = self.request.query_params.get("client")
        return queryset.filter(client_id=client) if client and client.isdigit() else queryset

    def perform_create(self, serializer):
        serializer.save(uploaded_by=self.request.user)
