"""The shop's pages: a catalog with recommendations, and item pages that record interactions."""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from .catalog import PRODUCTS

logger = logging.getLogger(__name__)


def catalog(request: HttpRequest) -> HttpResponse:
    """All products, and "Recommended for you" from GetRecommendations.

    The visitor's session asks as the user when signed in, else as the anonymous session, and
    remembers the list: a later click on one of its items carries its ``recommendationId``.
    """
    try:
        recs = request.personalize.get_recommendations(
            campaign_arn=settings.PERSONALIZE_CAMPAIGN_ARN, num_results=4
        )
        recommended = [PRODUCTS[i] for i in recs.item_ids if i in PRODUCTS]
    except (BotoCoreError, ClientError):  # recommendations are a bonus: the page still works
        logger.warning("no recommendations", exc_info=True)
        recommended = []
    return render(
        request,
        "shop/catalog.html",
        {"products": PRODUCTS.values(), "recommended": recommended},
    )


def item(request: HttpRequest, item_id: str) -> HttpResponse:
    """An item page: a ``click`` when reached from a recommendation, else a ``view``."""
    product = PRODUCTS.get(item_id)
    if product is None:
        raise Http404("no such product")
    event_type = "click" if request.GET.get("ref") == "recommended" else "view"
    request.personalize.track(event_type, item_id=item_id)  # queued: no network wait
    return render(request, "shop/item.html", {"product": product})
