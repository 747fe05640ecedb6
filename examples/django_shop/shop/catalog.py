"""The shop's products (a JSON file, so that tests and the local endpoint can read it too)."""

from __future__ import annotations

import json
from pathlib import Path

PRODUCTS: dict[str, dict[str, str]] = {
    product["id"]: product
    for product in json.loads((Path(__file__).parent / "products.json").read_text())
}
