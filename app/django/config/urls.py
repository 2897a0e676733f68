from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from core import health
from core.views import (
    ErrorDrillView,
    HeartbeatView,
    NodeQuoteView,
    ServiceStrategyDetailView,
    ServiceStrategyListView,
    StrategyViewSet,
    TaskProbeViewSet,
)
from crm.views import ClientDocumentViewSet, ClientViewSet, DealViewSet
from wallet.views import DepositViewSet, PayoutViewSet, ServiceDepositView, ServicePayoutResultView

router = DefaultRouter()
router.register("clients", ClientViewSet)
router.register("deals", DealViewSet)
router.register("documents", ClientDocumentViewSet)
router.register("payouts", PayoutViewSet)
router.register("deposits", DepositViewSet)
router.register("strategies", StrategyViewSet)
router.register("tasks/probe", TaskProbeViewSet, basename="taskprobe")

service_urls = [
    path("payouts/<int:pk>/result/", ServicePayoutResultView.as_view(), name="service-payout-result"),
    path("deposits/", ServiceDepositView.as_view(), name="service-deposits"),
    path("strategies/", ServiceStrategyListView.as_view(), name="service-strategies"),
    path("strategies/<slug:name>/", ServiceStrategyDetailView.as_view(), name="service-strategy"),
    path("error-drill/", ErrorDrillView.as_view(), name="service-error-drill"),
]

urlpatterns = [
    # Normally answered by HealthCheckMiddleware; routed too so reverse()
    # and a misordered MIDDLEWARE still work.
    path("", health.landing, name="landing"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("version", health.version, name="version"),
    path("admin/", admin.site.urls),
    path("api/auth/token/", obtain_auth_token, name="api-token"),
    path("api/heartbeat/", HeartbeatView.as_view(), name="heartbeat"),
    path("api/quote/", NodeQuoteView.as_view(), name="node-quote"),
    path("api/service/", include(service_urls)),
    path("api/", include(router.urls)),
]

admin.site.site_header = f"Reference app ({settings.APP_RELEASE})"
