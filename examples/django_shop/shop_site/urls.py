"""URLs of the example shop."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path
from shop import views

urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("items/<str:item_id>", views.item, name="item"),
    path("login", auth_views.LoginView.as_view(), name="login"),
    path("logout", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),  # adding a product there sends it with PutItems
]
