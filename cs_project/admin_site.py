"""Admin for supervisors: Django's admin site, titled in the reader's language.

Installed as the default site (cs_project.apps.AdminConfig), so
`admin.site` is this one from the start, not once the URLconf is loaded.
"""

from functools import wraps

from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.urls import path
from django.utils.translation import gettext_lazy as _


def _allowed(check, view):
    """`view` for staff that `check(user)` lets in; 403 for other staff."""

    @wraps(view)
    def checked(request, *args, **kwargs):
        if not check(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return checked


class SupervisorAdminSite(AdminSite):
    site_header = _("Customer service administration")
    site_title = _("Customer service admin")
    index_title = _("Supervision")

    def get_urls(self):
        from agents.supervisors import can_see_reports
        from chat.reports.views import reports_view
        from chat.wallboard.urls import wallboard_urls

        reports = path("reports/", self.admin_view(_allowed(can_see_reports, reports_view)), name="reports")
        return [reports, *wallboard_urls(self), *super().get_urls()]
