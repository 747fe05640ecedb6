"""Run the example shop on 127.0.0.1, with a local Personalize endpoint unless given one.

    python examples/django_shop/serve.py             # http://127.0.0.1:8000/, log in as demo
    python examples/django_shop/serve.py --port 0    # a free port (printed)
    PERSONALIZE_ENDPOINT_URL=http://127.0.0.1:5000 python examples/django_shop/serve.py

Without ``PERSONALIZE_ENDPOINT_URL`` it starts the testing extension's endpoint in this process
(``pip install '.[django,testing]'``), recommending the shop's products, and
prints each event and item it receives. It creates the SQLite database, the user ``demo``
(password ``demo-password``) and the admin ``admin`` (password ``admin-password``: adding a
product at /admin/ sends it to the Items dataset) when missing. It prints ``shop: <url>`` once
it listens; SIGTERM or Ctrl-C stops it after delivering the pending events.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop_site.settings")

DEMO_USER = ("demo", "demo-password")
ADMIN_USER = ("admin", "admin-password")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0: a free port")
    args = parser.parse_args(argv)

    with contextlib.ExitStack() as stack:
        if not os.environ.get("PERSONALIZE_ENDPOINT_URL"):
            start_local_endpoint(stack)

        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0, interactive=False)
        from django.contrib.auth.models import User

        if not User.objects.filter(username=DEMO_USER[0]).exists():
            User.objects.create_user(DEMO_USER[0], password=DEMO_USER[1])
        if not User.objects.filter(username=ADMIN_USER[0]).exists():
            User.objects.create_superuser(ADMIN_USER[0], password=ADMIN_USER[1])

        from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
        from django.core.wsgi import get_wsgi_application

        from personalize_tracker.integrations.django import close_tracker

        server = ThreadedWSGIServer((args.host, args.port), WSGIRequestHandler)
        server.set_app(get_wsgi_application())
        stack.callback(server.server_close)
        stack.callback(close_tracker, 5.0)  # deliver what is pending (before the endpoint stops)

        def stop(signum: int, frame: Any) -> None:
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        print(f"shop: http://{args.host}:{server.server_port}/", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    return 0


def start_local_endpoint(stack: contextlib.ExitStack) -> None:
    """Serve PutEvents and GetRecommendations on 127.0.0.1 for the shop, in this process."""
    from shop.catalog import PRODUCTS

    from personalize_tracker.testing import serve_personalize_events

    endpoint = stack.enter_context(serve_personalize_events())
    endpoint.set_catalog(PRODUCTS)
    os.environ["PERSONALIZE_ENDPOINT_URL"] = str(endpoint.endpoint_url)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")  # the local endpoint accepts any credentials
    print(f"local Personalize endpoint: {endpoint.endpoint_url}", flush=True)

    def report() -> None:
        seen = events_seen = items_seen = 0
        while True:
            endpoint.wait_for_requests(seen + 1, timeout=None)
            seen = len(endpoint.requests)
            events, items = endpoint.events, endpoint.items
            for event in events[events_seen:]:
                print(
                    f"  event {event.event_type} item={event.item_id} user={event.user_id} "
                    f"session={event.session_id[:8]}… rec={event.recommendation_id} "
                    f"{event.properties or ''}",
                    flush=True,
                )
            for item in items[items_seen:]:
                print(f"  item {item.item_id} {item.properties or ''}", flush=True)
            events_seen, items_seen = len(events), len(items)

    threading.Thread(target=report, name="event-report", daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
