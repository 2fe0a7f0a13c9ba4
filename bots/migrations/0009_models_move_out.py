"""State only: these models moved to their own apps; their tables (and rows) stay where they are."""


from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('bots', '0008_unknown_handoff_setting'),
    ]

    state_operations = [
        migrations.RemoveField(
            model_name='conversation',
            name='bot',
        ),
        migrations.RemoveField(
            model_name='conversation',
            name='claimed_by',
        ),
        migrations.RemoveField(
            model_name='conversation',
            name='tenant',
        ),
        migrations.RemoveField(
            model_name='message',
            name='conversation',
        ),
        migrations.RemoveField(
            model_name='import',
            name='bot',
        ),
        migrations.RemoveField(
            model_name='import',
            name='tenant',
        ),
        migrations.RemoveField(
            model_name='import',
            name='uploaded_by',
        ),
        migrations.RemoveField(
            model_name='import',
            name='uploaded_with_key',
        ),
        migrations.RemoveField(
            model_name='ticket',
            name='source_import',
        ),
        migrations.RemoveField(
            model_name='message',
            name='in_reply_to',
        ),
        migrations.RemoveField(
            model_name='message',
            name='sent_by',
        ),
        migrations.RemoveField(
            model_name='message',
            name='tenant',
        ),
        migrations.RemoveField(
            model_name='modelversion',
            name='bot',
        ),
        migrations.RemoveField(
            model_name='modelversion',
            name='run',
        ),
        migrations.RemoveField(
            model_name='modelversion',
            name='tenant',
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
