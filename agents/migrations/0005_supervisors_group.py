"""The "Supervisors" group, holding exactly what supervision needs.

What a supervisor may do: watch the wallboard and read the reports; read
conversations, messages, internal messages, attachments, customers and
agents in admin; act on conversations (close, requeue, reassign), on agents
(capacity, status, API token) and on customers (revoke their tokens); read
the audit log; unlock a login that throttling locked. What it may not: any
right on users, groups or permissions (a supervisor who could change a user
could make themselves a superuser), deleting history (retention does that)
and deactivating agents (which changes their user: administrators only).

The list is frozen here, as a migration must be; SUPERVISOR_PERMISSIONS in
agents/supervisors.py is the same list and a test holds them together.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Supervisors"
PERMISSIONS = [
    ("agents", "agentprofile", "view_agentprofile"),
    ("agents", "agentprofile", "change_agentprofile"),
    ("agents", "supervisoraction", "view_supervisoraction"),
    ("agents", "supervisoraction", "view_wallboard"),
    ("agents", "supervisoraction", "view_reports"),
    ("chat", "conversation", "view_conversation"),
    ("chat", "conversation", "change_conversation"),
    ("chat", "livequeue", "view_livequeue"),
    ("chat", "livequeue", "change_livequeue"),
    ("chat", "message", "view_message"),
    ("chat", "internalmessage", "view_internalmessage"),
    ("chat", "attachment", "view_attachment"),
    ("customers", "customer", "view_customer"),
    ("customers", "customer", "change_customer"),
    ("axes", "accessattempt", "view_accessattempt"),
    ("axes", "accessattempt", "delete_accessattempt"),
    ("axes", "accessfailurelog", "view_accessfailurelog"),
    ("axes", "accesslog", "view_accesslog"),
]


def make_group(apps, schema_editor):
    # Permissions are made after migrate; the group needs them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    wanted = []
    for app_label, model, codename in PERMISSIONS:
        wanted.append(
            Permission.objects.get(
                content_type__app_label=app_label, content_type__model=model, codename=codename
            )
        )
    group.permissions.set(wanted)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0004_supervisor_action"),
        ("chat", "0008_conversation_created_index"),
        ("customers", "0002_translatable_labels"),
        ("axes", "0010_accessattemptexpiration"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(make_group, remove_group)]
