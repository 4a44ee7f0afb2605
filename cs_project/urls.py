from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from . import views

# Supervisors read these in their own language, as the rest of admin.
admin.site.site_header = _("Customer service administration")
admin.site.site_title = _("Customer service admin")
admin.site.index_title = _("Supervision")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/setlang/", views.set_language, name="set_language"),
    # Not cached: one URL serves the language of whoever asks.
    path("i18n/catalog.js", views.javascript_catalog, name="javascript-catalog"),
    path("", include("agents.urls")),
    path("", include("customers.urls")),
]
