from rest_framework import serializers

from crm.models import Client, ClientDocument, Deal, validate_document


class ClientSerializer(serializers.ModelSerializer):
    class Meta:
        model = Client
        fields = ["id", "name", "email", "phone", "notes", "created_at"]
        read_only_fields = ["id", "created_at"]


class DealSerializer(serializers.ModelSerializer):
    class Meta:
        model = Deal
        fields = [
            "id",
            "client",
            "title",
            "amount",
            "currency",
            "probability",
            "stage",
            "summary",
            "summary_updated_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "summary", "summary_updated_at", "created_at", "updated_at"]

    def validate_probability(self, value):
        if not 0 <= value <= 100:
            raise serializers.ValidationError("Must be between 0 and 100.")
        return value

    def validate_currency(self, value):
        if len(value) != 3 or not value.isalpha():
            raise serializers.ValidationError("Use a 3-letter currency code.")
        return value.upper()


class ClientDocumentSerializer(serializers.ModelSerializer):
    file = serializers.FileField(validators=[validate_document], write_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = ClientDocument
        fields = ["id", "client", "title", "file", "url", "size", "content_type", "uploaded_at"]
        read_only_fields = ["id", "size", "content_type", "uploaded_at"]

    def get_url(self, obj):
        return obj.file.url if obj.file else None

    def create(self, validated_data):
        upload = validated_data["file"]
        validated_data["size"] = upload.size
        validated_data["content_type"] = (getattr(upload, "content_type", "") or "")[:100]
        validated_data.setdefault("title", upload.name)
        if not validated_data["title"]:
            validated_data["title"] = upload.name
        return super().create(validated_data)
