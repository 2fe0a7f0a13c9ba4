"""State only: these models moved here from another app; their tables (and rows) stay where they were."""


import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('bots', '0008_unknown_handoff_setting'),
    ]

    state_operations = [
        migrations.CreateModel(
            name='Plan',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.SlugField(max_length=40, unique=True)),
                ('name', models.CharField(max_length=60)),
                ('rank', models.PositiveSmallIntegerField(help_text='Orders the plans: moving to a higher rank is an upgrade.')),
                ('price_cents', models.PositiveIntegerField(default=0, help_text='Per billing period.')),
                ('currency', models.CharField(default='USD', max_length=3)),
                ('trial_days', models.PositiveSmallIntegerField(blank=True, help_text='Set on the trial plan only.', null=True)),
                ('is_public', models.BooleanField(default=True, help_text='Offered to tenants for upgrades and downgrades.')),
                ('resolutions', models.PositiveIntegerField(blank=True, help_text='Per period; empty is unlimited.', null=True)),
                ('answers', models.PositiveIntegerField(blank=True, help_text='Bot answers per period.', null=True)),
                ('api_calls', models.PositiveIntegerField(blank=True, help_text='API-key requests per period.', null=True)),
                ('training_runs', models.PositiveIntegerField(blank=True, help_text='Per period.', null=True)),
                ('bots', models.PositiveIntegerField(blank=True, null=True)),
                ('seats', models.PositiveIntegerField(blank=True, help_text='Members and pending invitations.', null=True)),
                ('stored_tickets', models.PositiveIntegerField(blank=True, null=True)),
                ('upload_bytes', models.PositiveBigIntegerField(blank=True, help_text='The largest ticket file.', null=True)),
            ],
            options={
                'db_table': 'tenants_plan',
                'ordering': ['rank'],
            },
        ),
        migrations.CreateModel(
            name='QuotaWarning',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('quota', models.CharField(choices=[('resolutions', 'Automated resolutions'), ('answers', 'Bot answers'), ('api_calls', 'API calls'), ('training_runs', 'Training runs'), ('bots', 'Bots'), ('seats', 'Seats'), ('stored_tickets', 'Stored tickets'), ('upload_bytes', 'Upload size')], max_length=20)),
                ('threshold', models.PositiveSmallIntegerField(help_text='Percent of the limit: 80 or 100.')),
                ('period_start', models.DateTimeField()),
                ('usage', models.BigIntegerField()),
                ('limit', models.BigIntegerField()),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'db_table': 'tenants_quotawarning',
            },
        ),
        migrations.CreateModel(
            name='Subscription',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(choices=[('trialing', 'Trial'), ('active', 'Active'), ('past_due', 'Past due'), ('cancelled', 'Cancelled')], default='trialing', max_length=10)),
                ('period_start', models.DateTimeField()),
                ('period_end', models.DateTimeField()),
                ('trial_ends_at', models.DateTimeField(blank=True, null=True)),
                ('grace_ends_at', models.DateTimeField(blank=True, null=True)),
                ('cancelled_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'db_table': 'tenants_subscription',
            },
        ),
        migrations.CreateModel(
            name='SubscriptionChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('started', 'Started'), ('plan_changed', 'Plan changed'), ('status_changed', 'Status changed'), ('renewed', 'New period')], max_length=20)),
                ('from_status', models.CharField(blank=True, choices=[('trialing', 'Trial'), ('active', 'Active'), ('past_due', 'Past due'), ('cancelled', 'Cancelled')], max_length=10)),
                ('to_status', models.CharField(choices=[('trialing', 'Trial'), ('active', 'Active'), ('past_due', 'Past due'), ('cancelled', 'Cancelled')], max_length=10)),
                ('period_start', models.DateTimeField()),
                ('period_end', models.DateTimeField()),
                ('note', models.CharField(blank=True, max_length=300)),
                ('at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'db_table': 'tenants_subscriptionchange',
            },
        ),
        migrations.CreateModel(
            name='UsageCounter',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('meter', models.CharField(choices=[('resolutions', 'Automated resolutions'), ('answers', 'Bot answers'), ('api_calls', 'API calls'), ('training_runs', 'Training runs'), ('tickets_stored', 'Tickets stored')], max_length=20)),
                ('day', models.DateField()),
                ('shard', models.PositiveSmallIntegerField(default=0)),
                ('count', models.BigIntegerField(default=0)),
            ],
            options={
                'db_table': 'tenants_usagecounter',
            },
        ),
        migrations.CreateModel(
            name='UsageEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('meter', models.CharField(choices=[('resolutions', 'Automated resolutions'), ('answers', 'Bot answers'), ('api_calls', 'API calls'), ('training_runs', 'Training runs'), ('tickets_stored', 'Tickets stored')], max_length=20)),
                ('key', models.CharField(max_length=200)),
                ('quantity', models.IntegerField(default=1)),
                ('at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
            ],
            options={
                'db_table': 'tenants_usageevent',
            },
        ),
        migrations.CreateModel(
            name='UsageFlush',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('batch_id', models.CharField(max_length=40, unique=True)),
                ('counters', models.PositiveIntegerField(default=0)),
                ('total', models.BigIntegerField(default=0)),
                ('applied_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
            ],
            options={
                'db_table': 'tenants_usageflush',
            },
        ),
        migrations.CreateModel(
            name='AutomatedResolution',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reason', models.CharField(choices=[('thumbs_up', 'The customer marked an answer helpful'), ('good_csat', 'The customer rated the conversation well'), ('no_return', "The customer did not come back after the bot's answer")], max_length=12)),
                ('evidence', models.JSONField(blank=True, default=dict)),
                ('counted_at', models.DateTimeField()),
                ('reversed_at', models.DateTimeField(blank=True, null=True)),
                ('reversal_reason', models.CharField(blank=True, max_length=200)),
                ('bot', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='bots.bot')),
            ],
            options={
                'db_table': 'tenants_automatedresolution',
            },
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
