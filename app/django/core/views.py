from django.db import transaction
from django.db.models import Count, Q
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.response import Response

from core.models import Heartbeat, Strategy, TaskProbe
from core.serializers import HeartbeatSerializer, StrategySerializer, TaskProbeSerializer
from core.service_auth import ServiceAPIMixin
from core.tasks import run_probe


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
