"""State only: these models moved here from another app; their tables (and rows) stay where they were."""


import django.db.models.deletion
import django.utils.timezone
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('bots', '0009_models_move_out'),
        ('tenants', '0006_billing_and_webhooks_models_move_out'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    state_operations = [
        migrations.CreateModel(
            name='Import',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('storage_key', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('file_name', models.CharField(max_length=255)),
                ('file_size', models.BigIntegerField()),
                ('sha256', models.CharField(db_index=True, max_length=64)),
                ('file_format', models.CharField(choices=[('csv', 'CSV'), ('json', 'JSON (array of objects)'), ('jsonl', 'JSON Lines')], max_length=5)),
                ('raw_path', models.CharField(help_text='Relative to UPLOADS_ROOT; blank once deleted.', max_length=500)),
                ('raw_deleted_at', models.DateTimeField(blank=True, null=True)),
                ('mapping', models.JSONField(default=dict)),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed')], default='pending', max_length=10)),
                ('attempts', models.PositiveSmallIntegerField(default=0)),
                ('bytes_read', models.BigIntegerField(default=0)),
                ('heartbeat_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('rows_read', models.PositiveIntegerField(default=0)),
                ('rows_imported', models.PositiveIntegerField(default=0)),
                ('rows_invalid', models.PositiveIntegerField(default=0)),
                ('rows_duplicate', models.PositiveIntegerField(default=0, help_text='Repeated within this file.')),
                ('rows_existing', models.PositiveIntegerField(default=0, help_text="Already among the bot's tickets.")),
                ('redactions', models.JSONField(blank=True, default=dict)),
                ('row_errors', models.JSONField(blank=True, default=list, help_text='The first errors: [{row, error}].')),
                ('error_code', models.CharField(blank=True, max_length=40)),
                ('error_message', models.TextField(blank=True)),
                ('bot', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='imports', to='bots.bot')),
                ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='tenants.tenant')),
                ('uploaded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('uploaded_with_key', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='tenants.apikey')),
            ],
            options={
                'db_table': 'bots_import',
            },
        ),
        migrations.CreateModel(
            name='Ticket',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('row_number', models.PositiveIntegerField(blank=True, null=True)),
                ('source', models.CharField(choices=[('import', 'Import'), ('agent', 'Agent correction'), ('conversation', 'Conversation')], default='import', max_length=12)),
                ('message', models.TextField()),
                ('resolution', models.TextField(blank=True)),
                ('intent', models.CharField(blank=True, max_length=100)),
                ('category', models.CharField(blank=True, max_length=100)),
                ('external_id', models.CharField(blank=True, max_length=200)),
                ('created_at', models.DateTimeField(blank=True, help_text='When the ticket itself was opened.', null=True)),
                ('imported_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('content_hash', models.CharField(max_length=32)),
                ('bot', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tickets', to='bots.bot')),
                ('source_import', models.ForeignKey(blank=True, db_column='import_id', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='tickets', to='knowledge.import')),
                ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='tenants.tenant')),
            ],
            options={
                'db_table': 'bots_ticket',
            },
        ),
        migrations.AddIndex(
            model_name='import',
            index=models.Index(fields=['bot', '-created_at'], name='import_bot_recent'),
        ),
        migrations.AddIndex(
            model_name='import',
            index=models.Index(fields=['status', 'heartbeat_at'], name='import_status_heartbeat'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(fields=['bot', 'intent'], name='ticket_bot_intent'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(fields=['bot', '-imported_at'], name='ticket_bot_recent'),
        ),
        migrations.AddConstraint(
            model_name='ticket',
            constraint=models.UniqueConstraint(fields=('bot', 'content_hash'), name='ticket_unique_content_per_bot'),
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
