"""The products table, filled from products.json (its rows are not sent: the data migration's
saves are of the historical model, which ``sync_items`` does not listen to)."""

import json
from pathlib import Path
from typing import Any

from django.db import migrations, models


def load_products(apps: Any, schema_editor: Any) -> None:
    product = apps.get_model("shop", "Product")
    products = json.loads((Path(__file__).resolve().parents[1] / "products.json").read_text())
    product.objects.bulk_create(
        product(id=p["id"], name=p["name"], price=p["price"], tags=p.get("tags", ""))
        for p in products
    )


class Migration(migrations.Migration):
    initial = True
    dependencies = ()
    operations = (
        migrations.CreateModel(
            name="Product",
            fields=[
                ("id", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=200)),
                ("price", models.DecimalField(decimal_places=2, max_digits=9)),
                (
                    "tags",
                    models.CharField(
                        blank=True,
                        help_text="Comma-separated: sent as a categorical TAGS field.",
                        max_length=200,
                    ),
                ),
            ],
            options={"ordering": ("id",)},
        ),
        migrations.RunPython(load_products, migrations.RunPython.noop),
    )
