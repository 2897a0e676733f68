import json
import logging
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from kombu.exceptions import OperationalError
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from config.request_id import HEADER as REQUEST_ID_HEADER
from config.request_id import get_request_id
from core.exceptions import ErrorDrill
from core.models import Heartbeat, Strategy, TaskProbe
from core.serializers import HeartbeatSerializer, StrategySerializer, TaskProbeSerializer
from core.service_auth import ServiceAPIMixin
from core.tasks import error_drill, run_probe
from wallet.tasks import record_quote

log = logging.getLogger(__name__)


class IsStaffOrReadOnly(permissions.BasePermission):
    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in permissions.SAFE_METHODS or request.user.is_staff


class StrategyViewSet(viewsets.ModelViewSet):
    """Strategy registry: any user reads, staff edit."""

    queryset = Strategy.objects.all()
    serializer_class = StrategySerializer
    permission_classes = [IsStaffOrReadOnly]
    lookup_field = "name"


class HeartbeatView(ListAPIView):
    """Public on purpose: shows whether Celery beat and a worker are alive,
    without anything sensitive."""

    queryset = Heartbeat.objects.all().order_by("name")
    serializer_class = HeartbeatSerializer
    permission_classes = [permissions.AllowAny]
    pagination_class = None


class TaskProbeViewSet(
    mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet
):
    """POST {"sleep": seconds} enqueues a probe task; GET shows when it ran."""

    queryset = TaskProbe.objects.all()
    serializer_class = TaskProbeSerializer

    def perform_create(self, serializer):
        probe = serializer.save()
        # Enqueue only once the row is visible to the worker.
        transaction.on_commit(lambda: run_probe.delay(probe.pk))

    def create(self, request, *args, **kwargs):
        response = super().create(request, *args, **kwargs)
        response.status_code = status.HTTP_202_ACCEPTED
        return response

    @action(detail=False, methods=["get"])
    def summary(self, request):
        counts = TaskProbe.objects.aggregate(
            total=Count("id"),
            completed=Count("id", filter=Q(completed_at__isnull=False)),
        )
        counts["pending"] = counts["total"] - counts["completed"]
        return Response(counts)


class ServiceStrategyListView(ServiceAPIMixin, ListAPIView):
    """Strategy registry for the Node services (enabled ones only)."""

    queryset = Strategy.objects.filter(enabled=True)
    serializer_class = StrategySerializer
    pagination_class = None


class ServiceStrategyDetailView(ServiceAPIMixin, RetrieveAPIView):
    queryset = Strategy.objects.filter(enabled=True)
    serializer_class = StrategySerializer
    lookup_field = "name"


class NodeQuoteView(APIView):
    """GET /api/quote/?amount=..: Django asking node-api (NODE_API_URL) for
    a quote, so users need only one API and the token stays in Django. Each
    quote given is recorded (wallet.Quote) by a Celery task."""

    def get(self, request):
        amount = request.query_params.get("amount", "")
        currency = request.query_params.get("currency", "EUR")
        query = urllib.parse.urlencode({"amount": amount, "currency": currency})
        url = f"{settings.NODE_API_URL.rstrip('/')}/quote?{query}"
        if not url.startswith(("http://", "https://")):
            return Response({"detail": "NODE_API_URL is not an http(s) URL."}, status=status.HTTP_502_BAD_GATEWAY)
        request_id = get_request_id()
        # node-api logs the same id for this call.
        headers = {REQUEST_ID_HEADER: request_id} if request_id else {}
        outgoing = urllib.request.Request(url, headers=headers)  # noqa: S310 - scheme checked above
        try:
            with urllib.request.urlopen(outgoing, timeout=5) as response:  # noqa: S310 - scheme checked above
                quote = json.loads(response.read())
                if response.status == status.HTTP_200_OK:
                    self.record(quote, request.user)
                return Response(quote, status=response.status)
        except urllib.error.HTTPError as exc:
            if exc.code == 400:
                return Response(json.loads(exc.read() or b"{}"), status=status.HTTP_400_BAD_REQUEST)
            log.warning("node-api quote failed: HTTP %s", exc.code)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            log.warning("node-api quote failed: %s", exc)
        return Response({"detail": "node-api unavailable"}, status=status.HTTP_502_BAD_GATEWAY)

    @staticmethod
    def record(quote, user):
        log.info("quote from node-api: %s %s, net %s", quote.get("amount"), quote.get("currency"), quote.get("net"))
        try:
            record_quote.delay(quote, user.pk)
        except OperationalError as exc:
            # The user still gets the quote; only its record is lost.
            log.warning("quote not recorded, broker unavailable: %s", exc)


class ErrorDrillView(ServiceAPIMixin, APIView):
    """POST /api/service/error-drill/ {"where": "view" | "task"}: fails on
    purpose, in this view (500) or in a Celery task (202), so a deployment
    test proves from outside that errors reach Sentry. Service token only."""

    def post(self, request):
        where = request.data.get("where") if isinstance(request.data, dict) else None
        if where == "view":
            log.info("error drill: raising in the view")
            raise ErrorDrill("error drill in a Django view")
        if where == "task":
            task = error_drill.delay()
            log.info("error drill: task %s enqueued", task.id)
            return Response({"task_id": task.id}, status=status.HTTP_202_ACCEPTED)
        return Response({"detail": 'Send {"where": "view"} or {"where": "task"}.'}, status=status.HTTP_400_BAD_REQUEST)
