"""State only: these models moved to their own apps; their tables (and rows) stay where they are."""


import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bots', '0009_models_move_out'),
        ('tenants', '0006_billing_and_webhooks_models_move_out'),
        ('training', '0001_initial'),
    ]

    state_operations = [
        migrations.AlterField(
            model_name='bot',
            name='active_version',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='training.modelversion'),
        ),
        migrations.RemoveField(
            model_name='ticket',
            name='bot',
        ),
        migrations.RemoveField(
            model_name='ticket',
            name='tenant',
        ),
        migrations.RemoveField(
            model_name='trainingrun',
            name='bot',
        ),
        migrations.RemoveField(
            model_name='trainingrun',
            name='requested_by',
        ),
        migrations.RemoveField(
            model_name='trainingrun',
            name='tenant',
        ),
        migrations.DeleteModel(
            name='Conversation',
        ),
        migrations.DeleteModel(
            name='Import',
        ),
        migrations.DeleteModel(
            name='Message',
        ),
        migrations.DeleteModel(
            name='ModelVersion',
        ),
        migrations.DeleteModel(
            name='Ticket',
        ),
        migrations.DeleteModel(
            name='TrainingRun',
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
