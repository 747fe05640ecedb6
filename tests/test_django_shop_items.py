"""The example shop keeps the Items dataset in step: adding a product in its admin sends it with
PutItems, seen on the local endpoint's handle.

The shop runs in its own process (``examples/django_shop/serve.py``), as in test_browser.py, and
is driven over HTTP with a cookie jar (Django's admin login, its CSRF token, the add form): no
browser needed. The endpoint runs in this process.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from personalize_tracker.testing import (
    PersonalizeEventsMock,
    RecordedItem,
    serve_personalize_events,
)

from conftest import running_shop

pytest.importorskip("django", reason="Django is not installed")
pytest.importorskip("ua_parser", reason="ua-parser is not installed")

ITEMS = "arn:aws:personalize:us-east-1:000000000000:dataset/shop/ITEMS"

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def endpoint() -> Iterator[PersonalizeEventsMock]:
    with serve_personalize_events() as handle:
        yield handle


@pytest.fixture
def shop(endpoint: PersonalizeEventsMock, tmp_path: Path) -> Iterator[str]:
    """The example shop in a subprocess on 127.0.0.1; yields its base URL."""
    with running_shop(
        str(endpoint.endpoint_url), tmp_path, {"PERSONALIZE_ITEMS_DATASET_ARN": ITEMS}
    ) as base:
        yield base


class Browser:
    """GET and POST with cookies and Django's CSRF token, as a browser's form does."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            return str(response.read().decode())

    def post_form(self, path: str, fields: dict[str, str]) -> tuple[str, str]:
        """Load the form at ``path``, post ``fields`` with its CSRF token; return the final URL
        (after redirects) and the page."""
        page = self.get(path)
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert match, f"no CSRF token on {path}"
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": match.group(1), **fields}).encode()
        request = urllib.request.Request(
            self.base + path, data=data, headers={"Referer": self.base + path}
        )
        with self.opener.open(request, timeout=30) as response:
            return response.geturl(), str(response.read().decode())


def test_adding_a_product_in_the_admin_sends_put_items(
    endpoint: PersonalizeEventsMock, shop: str
) -> None:
    browser = Browser(shop)
    url, _ = browser.post_form(
        "/admin/login/?next=/admin/", {"username": "admin", "password": "admin-password"}
    )
    assert url.endswith("/admin/"), "the admin login failed"
    url, page = browser.post_form(
        "/admin/shop/product/add/",
        {"id": "sku-200", "name": "Bivvy bag", "price": "149.50", "tags": "camping, shelter"},
    )
    assert url.endswith("/admin/shop/product/"), page[:2000]
    assert endpoint.wait_for_items(1, timeout=30)
    assert endpoint.items == [
        RecordedItem(
            ITEMS, "sku-200", json.dumps(
                {"name": "Bivvy bag", "price": 149.5, "tags": "camping|shelter"},
                separators=(",", ":"),
            ),
        )
    ]  # fmt: skip
    [call] = [r for r in endpoint.requests if r.operation == "PutItems"]
    assert call.params["datasetArn"] == ITEMS
    # The new product is in the shop's catalog, and a change in the admin is sent again.
    assert 'data-item="sku-200"' in browser.get("/")
    browser.post_form(
        "/admin/shop/product/sku-200/change/",
        {"id": "sku-200", "name": "Bivvy bag", "price": "129.00", "tags": "camping"},
    )
    assert endpoint.wait_for_items(2, timeout=30)
    assert endpoint.items[1].properties == '{"name":"Bivvy bag","price":129.0,"tags":"camping"}'
    # Seeding the catalogue (the migration) and the shop's pages sent no other item.
    assert [item.item_id for item in endpoint.items] == ["sku-200", "sku-200"]
