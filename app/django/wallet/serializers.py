from rest_framework import serializers

from wallet.models import Deposit, Payout, currency_validator


class CurrencyField(serializers.CharField):
    """Accepts "eur" as "EUR": upper-cased before validation."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 3)
        kwargs.setdefault("validators", [currency_validator])
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(data).upper()


class PayoutSerializer(serializers.ModelSerializer):
    currency = CurrencyField(default="EUR")

    class Meta:
        model = Payout
        fields = [
            "id",
            "amount",
            "currency",
            "destination",
            "status",
            "created_at",
            "updated_at",
            "queued_at",
            "fee",
            "tx_id",
            "error",
            "processed_at",
            "processed_by",
        ]
        read_only_fields = [
            "id",
            "status",
            "created_at",
            "updated_at",
            "queued_at",
            "fee",
            "tx_id",
            "error",
            "processed_at",
            "processed_by",
        ]


class DepositSerializer(serializers.ModelSerializer):
    currency = CurrencyField(default="EUR")

    class Meta:
        model = Deposit
        fields = ["id", "tx_id", "amount", "currency", "source", "created_at"]
        read_only_fields = ["id", "created_at"]
        # Uniqueness is handled by the view (an existing tx_id is idempotent).
        extra_kwargs = {"tx_id": {"validators": []}}


class PayoutResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[Payout.Status.PROCESSING, Payout.Status.PAID, Payout.Status.FAILED])
    fee = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, allow_null=True, min_value=0)
    tx_id = serializers.CharField(max_length=128, required=False, allow_blank=True)
    error = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    worker = serializers.CharField(required=False, allow_blank=True, max_length=128)

    def validate(self, attrs):
        if attrs["status"] == Payout.Status.PAID and not attrs.get("tx_id"):
            raise serializers.ValidationError({"tx_id": "Required when status is paid."})
        return attrs
