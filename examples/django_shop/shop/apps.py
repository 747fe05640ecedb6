"""The shop app."""

from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"

    def ready(self) -> None:
        # Every save of a product (the admin's too) becomes a put_item once committed: the
        # Items dataset stays in step with the shop (settings: OPTIONS["items_dataset_arn"]).
        from personalize_tracker.integrations.django import sync_items

        from .models import Product

        sync_items(
            Product,
            item_id="id",
            fields={"NAME": "name", "PRICE": "price", "TAGS": Product.tag_list},
        )
