"""State only: these models moved here from another app; their tables (and rows) stay where they were."""


import django.db.models.deletion
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
            name='Conversation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('visitor_id', models.CharField(db_index=True, max_length=64)),
                ('channel', models.CharField(choices=[('widget', 'Widget'), ('api', 'API')], default='widget', max_length=10)),
                ('status', models.CharField(choices=[('bot', 'Bot answering'), ('waiting', 'Waiting for a person'), ('agent', 'With a person'), ('closed', 'Closed')], default='bot', max_length=10)),
                ('handoff_reason', models.CharField(blank=True, max_length=40)),
                ('handed_off_at', models.DateTimeField(blank=True, null=True)),
                ('csat', models.PositiveSmallIntegerField(blank=True, help_text='1 (bad) to 5 (great).', null=True)),
                ('failed_streak', models.PositiveSmallIntegerField(default=0, help_text='Bot answers in a row that failed.')),
                ('last_seq', models.PositiveIntegerField(default=0)),
                ('visitor_acked_seq', models.PositiveIntegerField(default=0)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('closed_at', models.DateTimeField(blank=True, null=True)),
                ('claimed_at', models.DateTimeField(blank=True, null=True)),
                ('agent_disconnected_at', models.DateTimeField(blank=True, null=True)),
                ('visitor_email', models.EmailField(blank=True, max_length=254)),
                ('contact_left_at', models.DateTimeField(blank=True, null=True)),
                ('resolution', models.TextField(blank=True)),
                ('queue_wait_seconds', models.PositiveIntegerField(blank=True, null=True)),
                ('bot', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='conversations', to='bots.bot')),
                ('claimed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='tenants.tenant')),
            ],
            options={
                'db_table': 'bots_conversation',
            },
        ),
        migrations.CreateModel(
            name='Message',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('seq', models.PositiveIntegerField()),
                ('sender', models.CharField(choices=[('visitor', 'Visitor'), ('bot', 'Bot'), ('agent', 'Agent'), ('system', 'System')], max_length=10)),
                ('kind', models.CharField(choices=[('text', 'Text'), ('answer', 'Answer'), ('clarify', 'Clarifying question'), ('handoff', 'Handoff notice'), ('notice', 'Notice'), ('note', 'Internal note'), ('offline', 'Left while no one was available')], default='text', max_length=10)),
                ('text', models.TextField()),
                ('client_msg_id', models.CharField(blank=True, max_length=64)),
                ('decision', models.JSONField(blank=True, default=dict)),
                ('quick_replies', models.JSONField(blank=True, default=list)),
                ('feedback', models.CharField(blank=True, choices=[('up', 'Helpful'), ('down', 'Not helpful')], max_length=4)),
                ('corrected_intent', models.CharField(blank=True, help_text="An agent's label for this message.", max_length=100)),
                ('answer_due', models.BooleanField(default=False)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('conversation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='messages', to='conversations.conversation')),
                ('in_reply_to', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='replies', to='conversations.message')),
                ('sent_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='tenants.tenant')),
            ],
            options={
                'db_table': 'bots_message',
                'ordering': ['conversation', 'seq'],
            },
        ),
        migrations.AddIndex(
            model_name='conversation',
            index=models.Index(fields=['bot', 'status', '-updated_at'], name='conversation_bot_status'),
        ),
        migrations.AddIndex(
            model_name='conversation',
            index=models.Index(fields=['bot', 'visitor_id'], name='conversation_bot_visitor'),
        ),
        migrations.AddIndex(
            model_name='conversation',
            index=models.Index(fields=['tenant', 'status', 'handed_off_at'], name='conversation_queue'),
        ),
        migrations.AddIndex(
            model_name='conversation',
            index=models.Index(fields=['tenant', '-claimed_at'], name='conversation_claims'),
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(condition=models.Q(('answer_due', True)), fields=['created_at'], name='message_answer_due'),
        ),
        migrations.AddConstraint(
            model_name='message',
            constraint=models.UniqueConstraint(condition=models.Q(('sender', 'bot')), fields=('in_reply_to',), name='message_one_bot_reply_per_message'),
        ),
        migrations.AddConstraint(
            model_name='message',
            constraint=models.UniqueConstraint(fields=('conversation', 'seq'), name='message_seq_unique_per_conversation'),
        ),
        migrations.AddConstraint(
            model_name='message',
            constraint=models.UniqueConstraint(condition=models.Q(('client_msg_id', ''), _negated=True), fields=('conversation', 'client_msg_id'), name='message_client_id_unique_per_conversation'),
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
