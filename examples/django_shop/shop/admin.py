"""The shop's admin: adding or changing a product sends it to the Items dataset (PutItems)."""

from django.contrib import admin

from .models import Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "name", "price", "tags")
