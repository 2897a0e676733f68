from django.contrib import admin

from crm.models import Client, ClientDocument, Deal


class DealInline(admin.TabularInline):
    model = Deal
    extra = 0
    fields = ["title", "amount", "currency", "probability", "stage"]


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "phone", "created_at"]
    search_fields = ["name", "email"]
    inlines = [DealInline]


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    list_display = ["title", "client", "amount", "currency", "probability", "stage"]
    list_filter = ["stage", "currency"]
    readonly_fields = ["summary", "summary_updated_at"]


@admin.register(ClientDocument)
class ClientDocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "client", "size", "uploaded_at"]
