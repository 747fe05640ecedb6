"""The shop's pages: a catalog with recommendations, and item pages that record interactions."""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from .models import Product

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
        found = Product.objects.in_bulk(list(recs.item_ids))
        recommended = [found[i] for i in recs.item_ids if i in found]
    except (BotoCoreError, ClientError):  # recommendations are a bonus: the page still works
        logger.warning("no recommendations", exc_info=True)
        recommended = []
    return render(
        request,
        "shop/catalog.html",
        {"products": Product.objects.all(), "recommended": recommended},
    )


def item(request: HttpRequest, item_id: str) -> HttpResponse:
    """An item page: a ``click`` when reached from a recommendation, else a ``view``."""
    product = get_object_or_404(Product, pk=item_id)
    event_type = "click" if request.GET.get("ref") == "recommended" else "view"
    request.personalize.track(event_type, item_id=item_id)
    return render(request, "shop/item.html", {"product": product})
