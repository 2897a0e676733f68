from django.contrib import admin

from wallet.models import Deposit, Payout, Quote


@admin.register(Payout)
class PayoutAdmin(admin.ModelAdmin):
    list_display = ["id", "amount", "currency", "destination", "status", "created_at", "processed_at"]
    list_filter = ["status", "currency"]
    search_fields = ["destination", "tx_id"]


@admin.register(Deposit)
class DepositAdmin(admin.ModelAdmin):
    list_display = ["tx_id", "amount", "currency", "source", "created_at"]
    search_fields = ["tx_id"]


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    list_display = ["id", "amount", "currency", "fee", "spread", "net", "requested_by", "created_at"]
    list_filter = ["currency"]
    search_fields = ["request_id"]
