from django.contrib import admin

from wallet.models import Deposit, Payout


@admin.register(Payout)
class PayoutAdmin(admin.ModelAdmin):
    list_display = ["id", "amount", "currency", "destination", "status", "created_at", "processed_at"]
    list_filter = ["status", "currency"]
    search_fields = ["destination", "tx_id"]


@admin.register(Deposit)
class DepositAdmin(admin.ModelAdmin):
    list_display = ["tx_id", "amount", "currency", "source", "created_at"]
    search_fields = ["tx_id"]
