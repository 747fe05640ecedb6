"""The shop's products, kept in the Items dataset by ``sync_items`` (see ``apps.py``)."""

from __future__ import annotations

from django.db import models


class Product(models.Model):
    """A product: its id is the ``itemId`` of its events and of its Items dataset record."""

    id = models.CharField(primary_key=True, max_length=64)
    name = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=9, decimal_places=2)
    tags = models.CharField(
        max_length=200, blank=True, help_text="Comma-separated: sent as a categorical TAGS field."
    )

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return self.name

    def tag_list(self) -> list[str]:
        """The tags, as the multi-valued categorical field ``TAGS`` (joined with ``|``)."""
        return [tag.strip() for tag in self.tags.split(",") if tag.strip()]
