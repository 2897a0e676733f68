from rest_framework import serializers

from core.models import Heartbeat, Strategy, TaskProbe


class StrategySerializer(serializers.ModelSerializer):
    class Meta:
        model = Strategy
        fields = ["id", "name", "enabled", "config", "description", "updated_at"]
        read_only_fields = ["id", "updated_at"]

    def validate_config(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("config must be a JSON object.")
        return value


class HeartbeatSerializer(serializers.ModelSerializer):
    class Meta:
        model = Heartbeat
        fields = ["name", "last_beat", "count"]


class TaskProbeSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)
    sleep = serializers.FloatField(required=False, default=0, min_value=0, max_value=120)

    class Meta:
        model = TaskProbe
        fields = ["id", "sleep", "status", "requested_at", "started_at", "completed_at", "runs", "worker"]
        read_only_fields = ["id", "requested_at", "started_at", "completed_at", "runs", "worker"]
