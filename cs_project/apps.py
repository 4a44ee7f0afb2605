from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    """django.contrib.admin with the supervisors' site (cs_project/admin_site.py)."""

    default_site = "cs_project.admin_site.SupervisorAdminSite"
