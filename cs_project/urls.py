from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/setlang/", views.set_language, name="set_language"),
    # Not cached: one URL serves the language of whoever asks.
    path("i18n/catalog.js", views.javascript_catalog, name="javascript-catalog"),
    path("", include("chat.urls")),
    path("", include("agents.urls")),
    path("", include("customers.urls")),
]
