"""Settings of the example shop. Everything that varies comes from the environment.

``PERSONALIZE_ENDPOINT_URL``: the Personalize endpoint (``serve.py`` starts a local one when it is
unset); ``PERSONALIZE_TRACKING_ID``, ``PERSONALIZE_CAMPAIGN_ARN``,
``PERSONALIZE_ITEMS_DATASET_ARN``, ``AWS_REGION``; ``SHOP_DB``: the SQLite file; ``SHOP_DEBUG=0``
for production-like cookies (``Secure``).
"""

from __future__ import annotations

import os
from pathlib import Path

from personalize_tracker.integrations import device_type

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("SHOP_SECRET_KEY", "example-shop-not-a-secret")
DEBUG = os.environ.get("SHOP_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "shop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # after the session and authentication middleware: it reads request.user
    "personalize_tracker.integrations.django.PersonalizeMiddleware",
]

ROOT_URLCONF = "shop_site.urls"
WSGI_APPLICATION = "shop_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SHOP_DB", str(BASE_DIR / "db.sqlite3")),
    }
}

STATIC_URL = "static/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The campaign (or recommender) the catalog page asks GetRecommendations.
PERSONALIZE_CAMPAIGN_ARN = os.environ.get(
    "PERSONALIZE_CAMPAIGN_ARN", "arn:aws:personalize:us-east-1:000000000000:campaign/shop"
)

PERSONALIZE_TRACKER = {
    "TRACKING_ID": os.environ.get("PERSONALIZE_TRACKING_ID", "shop-demo"),
    "REGION": os.environ.get("AWS_REGION", "us-east-1"),
    "ENDPOINT_URL": os.environ.get("PERSONALIZE_ENDPOINT_URL") or None,
    "OPTIONS": {
        "flush_interval": float(os.environ.get("PERSONALIZE_FLUSH_INTERVAL", "1.0")),
        # The Items dataset the admin's product saves go to (shop/apps.py: sync_items).
        "items_dataset_arn": os.environ.get(
            "PERSONALIZE_ITEMS_DATASET_ARN",
            "arn:aws:personalize:us-east-1:000000000000:dataset/shop/ITEMS",
        ),
    },
    "CONTEXT": [device_type()],  # DEVICE_TYPE from the User-Agent: mobile, desktop...
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"personalize_tracker": {"handlers": ["console"], "level": "WARNING"}},
}
