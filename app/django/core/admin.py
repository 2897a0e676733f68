from django.contrib import admin

from core.models import Heartbeat, Strategy, TaskProbe


@admin.register(Strategy)
class StrategyAdmin(admin.ModelAdmin):
    list_display = ["name", "enabled", "updated_at"]
    list_filter = ["enabled"]
    search_fields = ["name", "description"]


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "count", "last_beat"]
    readonly_fields = ["name", "count", "last_beat"]


@admin.register(TaskProbe)
class TaskProbeAdmin(admin.ModelAdmin):
    list_display = ["id", "sleep", "requested_at", "completed_at", "runs", "worker"]
