from django.db import migrations, models

# The first assignment of conversations made before the field: the time of
# their first "joined" system note (one is written at every assignment that
# is not a transfer), else their latest assignment.
BACKFILL = """
UPDATE chat_conversation SET first_assigned_at = COALESCE(
    (SELECT MIN(m.created_at) FROM chat_message m
     WHERE m.conversation_id = chat_conversation.id AND m.sender = 'system' AND m.system_code = 'joined'),
    assigned_at
) WHERE assigned_at IS NOT NULL
"""


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0008_conversation_created_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="conversation",
            name="first_assigned_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="first assigned at"),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
