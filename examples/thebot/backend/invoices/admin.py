from django.contrib import admin

from .models import Invoice


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ("id", "tutor", "parent", "student", "amount", "status", "due_date", "paid_at")
    list_filter = ("status",)
    search_fields = ("description", "payment_id")
    raw_id_fields = ("tutor", "parent", "student", "enrollment")
    readonly_fields = ("created_at", "updated_at", "sent_at", "viewed_at", "paid_at")
