"""Admin for supervisors: Django's admin site, titled in the reader's language.

Installed as the default site (cs_project.apps.AdminConfig), so
`admin.site` is this one from the start, not once the URLconf is loaded.
"""

from django.contrib.admin import AdminSite
from django.utils.translation import gettext_lazy as _


class SupervisorAdminSite(AdminSite):
    site_header = _("Customer service administration")
    site_title = _("Customer service admin")
    index_title = _("Supervision")

    def get_urls(self):
        from chat.wallboard.urls import wallboard_urls

        return wallboard_urls(self) + super().get_urls()
