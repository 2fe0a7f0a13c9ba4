"""State only: these models moved here from another app; their tables (and rows) stay where they were."""


import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('billing', '0001_initial'),
        ('conversations', '0001_initial'),
        ('tenants', '0006_billing_and_webhooks_models_move_out'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    state_operations = [
        migrations.AddField(
            model_name='automatedresolution',
            name='conversation',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='automated_resolution', to='conversations.conversation'),
        ),
        migrations.AddField(
            model_name='automatedresolution',
            name='tenant',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='tenants.tenant'),
        ),
        migrations.AddField(
            model_name='quotawarning',
            name='tenant',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='tenants.tenant'),
        ),
        migrations.AddField(
            model_name='subscription',
            name='plan',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='subscriptions', to='billing.plan'),
        ),
        migrations.AddField(
            model_name='subscription',
            name='tenant',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='tenants.tenant'),
        ),
        migrations.AddField(
            model_name='subscriptionchange',
            name='changed_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='subscriptionchange',
            name='changed_with_key',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='tenants.apikey'),
        ),
        migrations.AddField(
            model_name='subscriptionchange',
            name='from_plan',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='billing.plan'),
        ),
        migrations.AddField(
            model_name='subscriptionchange',
            name='subscription',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='changes', to='billing.subscription'),
        ),
        migrations.AddField(
            model_name='subscriptionchange',
            name='tenant',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='tenants.tenant'),
        ),
        migrations.AddField(
            model_name='subscriptionchange',
            name='to_plan',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='billing.plan'),
        ),
        migrations.AddField(
            model_name='usagecounter',
            name='tenant',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='tenants.tenant'),
        ),
        migrations.AddField(
            model_name='usageevent',
            name='tenant',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='tenants.tenant'),
        ),
        migrations.AddIndex(
            model_name='automatedresolution',
            index=models.Index(fields=['tenant', '-counted_at'], name='resolution_recent'),
        ),
        migrations.AddIndex(
            model_name='automatedresolution',
            index=models.Index(condition=models.Q(('reversed_at', None)), fields=['counted_at'], name='resolution_standing'),
        ),
        migrations.AddConstraint(
            model_name='quotawarning',
            constraint=models.UniqueConstraint(fields=('tenant', 'quota', 'threshold', 'period_start', 'limit'), name='quota_warning_once_per_period'),
        ),
        migrations.AddConstraint(
            model_name='subscription',
            constraint=models.UniqueConstraint(fields=('tenant',), name='one_subscription_per_tenant'),
        ),
        migrations.AddIndex(
            model_name='subscriptionchange',
            index=models.Index(fields=['tenant', '-at'], name='subscription_change_recent'),
        ),
        migrations.AddConstraint(
            model_name='usagecounter',
            constraint=models.UniqueConstraint(fields=('tenant', 'meter', 'day', 'shard'), name='usage_counter_per_day'),
        ),
        migrations.AddConstraint(
            model_name='usageevent',
            constraint=models.UniqueConstraint(fields=('tenant', 'meter', 'key'), name='usage_event_once'),
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
