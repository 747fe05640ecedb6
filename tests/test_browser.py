"""The Django shop example end to end in headless Chromium, against the local endpoint.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them) and selenium;
skipped with the reason when one is missing. The shop runs in its own process
(``examples/django_shop/serve.py``) as a deployment would; the endpoint runs in this one, so the
test sees exactly what PutEvents and GetRecommendations received.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from personalize_tracker.integrations import classify_device
from personalize_tracker.testing import PersonalizeEventsMock, serve_personalize_events

from conftest import SHOP, running_shop

CHROMIUM = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
pytest.importorskip("django", reason="Django is not installed")
pytest.importorskip("ua_parser", reason="ua-parser is not installed")
if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
    MISSING = f"needs {CHROMIUM} and {CHROMEDRIVER}: apt-get install chromium chromium-driver"
    if os.environ.get("CI"):  # .ci/run installs them: in CI a skip would hide a broken setup
        pytest.fail(f"{MISSING} (.ci/run should have)", pytrace=False)
    pytest.skip(f"{MISSING} (.ci/run does)", allow_module_level=True)

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def endpoint() -> Iterator[PersonalizeEventsMock]:
    with serve_personalize_events() as handle:
        products = json.loads((SHOP / "shop" / "products.json").read_text())
        handle.set_catalog(p["id"] for p in products)
        yield handle


@pytest.fixture
def shop(endpoint: PersonalizeEventsMock, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The example shop in a subprocess on 127.0.0.1; yields (base URL, its database)."""
    with running_shop(str(endpoint.endpoint_url), tmp_path, {"SHOP_DEBUG": "1"}) as base:
        yield base, tmp_path / "shop.sqlite3"


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(browser: webdriver.Chrome, by: str, value: str) -> Any:
    """The element once the page that has it has loaded (a click's navigation is asynchronous)."""
    return WebDriverWait(browser, 15).until(
        expected_conditions.presence_of_element_located((by, value))
    )


def test_browse_log_in_and_click_a_recommendation(
    endpoint: PersonalizeEventsMock, shop: tuple[str, Path], browser: webdriver.Chrome
) -> None:
    url, database = shop
    # Anonymous: the catalog, then a product page.
    browser.get(f"{url}/")
    wait_for(browser, By.CSS_SELECTOR, "a.product").click()
    viewed = wait_for(browser, By.ID, "product").get_attribute("data-item")
    [cookie] = [c for c in browser.get_cookies() if c["name"] == "personalize_session"]
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"

    # Log in with Django's auth; back on the catalog, click a recommended item.
    browser.find_element(By.ID, "login").click()
    wait_for(browser, By.NAME, "username").send_keys("demo")
    browser.find_element(By.NAME, "password").send_keys("demo-password")
    browser.find_element(By.ID, "submit").click()
    assert wait_for(browser, By.ID, "who").text == "Signed in as demo"
    recommended = browser.find_elements(By.CSS_SELECTOR, "a.recommended")
    assert recommended, "the catalog shows recommendations"
    clicked = recommended[1].get_attribute("data-item")
    recommended[1].click()
    assert wait_for(browser, By.ID, "product").get_attribute("data-item") == clicked
    user_agent = browser.execute_script("return navigator.userAgent")

    assert endpoint.wait_for_events(2, timeout=15), endpoint.events
    with sqlite3.connect(database) as db:
        [(demo_pk,)] = db.execute("SELECT id FROM auth_user WHERE username = 'demo'").fetchall()
    asked = [r for r in endpoint.requests if r.operation == "GetRecommendations"]
    assert [r.params["userId"] for r in asked] == [cookie["value"], str(demo_pk)]
    assert asked[1].response is not None

    view, click = sorted(endpoint.events, key=lambda e: e.sent_at)
    assert (view.event_type, view.item_id, view.user_id) == ("view", viewed, None)
    assert (click.event_type, click.item_id, click.user_id) == ("click", clicked, str(demo_pk))
    assert view.session_id == click.session_id == cookie["value"]  # login kept the sessionId
    assert click.recommendation_id == asked[1].response["recommendationId"]
    assert "HeadlessChrome" in user_agent
    device = classify_device(user_agent)
    assert device == "desktop"
    assert (
        view.properties
        == click.properties
        == json.dumps({"deviceType": device}, separators=(",", ":"))
    )
