"""Who is a supervisor: a staff user in the "Supervisors" group.

The group and its rights are made by agents/migrations/0005_supervisors_group.py
(which says why each right is there, and why no right on users is).
"""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db.models import Q

GROUP = "Supervisors"

# (app label, permission codename): what the group holds, exactly.
SUPERVISOR_PERMISSIONS = frozenset(
    {
        ("agents", "view_agentprofile"),
        ("agents", "change_agentprofile"),
        ("agents", "view_supervisoraction"),
        ("agents", "view_wallboard"),
        ("agents", "view_reports"),
        ("chat", "view_conversation"),
        ("chat", "change_conversation"),
        ("chat", "view_livequeue"),
        ("chat", "change_livequeue"),
        ("chat", "view_message"),
        ("chat", "view_internalmessage"),
        ("chat", "view_attachment"),
        ("customers", "view_customer"),
        ("customers", "change_customer"),
        ("axes", "view_accessattempt"),
        ("axes", "delete_accessattempt"),
        ("axes", "view_accessfailurelog"),
        ("axes", "view_accesslog"),
    }
)


def supervisors_group() -> Group:
    """The group; made again with its rights if someone deleted it (an
    edited group is left as the administrator made it)."""
    group, created = Group.objects.get_or_create(name=GROUP)
    if created:
        group.permissions.set(supervisor_permissions())
    return group


def supervisor_permissions() -> list[Permission]:
    wanted = Q()
    for app_label, codename in SUPERVISOR_PERMISSIONS:
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    found = list(Permission.objects.filter(wanted))
    if len(found) != len(SUPERVISOR_PERMISSIONS):
        # Permissions are made after migrate; a database flushed since has none.
        for app_config in apps.get_app_configs():
            create_permissions(app_config, verbosity=0)
        found = list(Permission.objects.filter(wanted))
    return found


def make_supervisor(user) -> None:
    """Staff (admin entry) and in the group (the rights); never a superuser."""
    user.is_staff = True
    user.is_superuser = False
    user.save(update_fields=["is_staff", "is_superuser"])
    user.groups.add(supervisors_group())


def can_see_wallboard(user) -> bool:
    return user.is_active and user.is_staff and user.has_perm("agents.view_wallboard")


def can_see_reports(user) -> bool:
    return user.is_active and user.is_staff and user.has_perm("agents.view_reports")
