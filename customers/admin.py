from django.contrib import admin

from .models import Customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "email", "created_at", "last_seen_at")
    search_fields = ("name", "email")
    readonly_fields = ("created_at", "last_seen_at")
