"""State only: these models moved to their own apps; their tables (and rows) stay where they are."""


from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0005_remove_tenant_plan'),
    ]

    state_operations = [
        migrations.RemoveField(
            model_name='automatedresolution',
            name='bot',
        ),
        migrations.RemoveField(
            model_name='automatedresolution',
            name='conversation',
        ),
        migrations.RemoveField(
            model_name='automatedresolution',
            name='tenant',
        ),
        migrations.RemoveField(
            model_name='subscription',
            name='plan',
        ),
        migrations.RemoveField(
            model_name='subscriptionchange',
            name='to_plan',
        ),
        migrations.RemoveField(
            model_name='subscriptionchange',
            name='from_plan',
        ),
        migrations.RemoveField(
            model_name='quotawarning',
            name='tenant',
        ),
        migrations.RemoveField(
            model_name='subscription',
            name='tenant',
        ),
        migrations.RemoveField(
            model_name='subscriptionchange',
            name='subscription',
        ),
        migrations.RemoveField(
            model_name='subscriptionchange',
            name='changed_by',
        ),
        migrations.RemoveField(
            model_name='subscriptionchange',
            name='changed_with_key',
        ),
        migrations.RemoveField(
            model_name='subscriptionchange',
            name='tenant',
        ),
        migrations.RemoveField(
            model_name='usagecounter',
            name='tenant',
        ),
        migrations.RemoveField(
            model_name='usageevent',
            name='tenant',
        ),
        migrations.DeleteModel(
            name='UsageFlush',
        ),
        migrations.RemoveField(
            model_name='webhookdelivery',
            name='endpoint',
        ),
        migrations.RemoveField(
            model_name='webhookdelivery',
            name='tenant',
        ),
        migrations.RemoveField(
            model_name='webhookendpoint',
            name='created_by',
        ),
        migrations.RemoveField(
            model_name='webhookendpoint',
            name='tenant',
        ),
        migrations.DeleteModel(
            name='AutomatedResolution',
        ),
        migrations.DeleteModel(
            name='Plan',
        ),
        migrations.DeleteModel(
            name='QuotaWarning',
        ),
        migrations.DeleteModel(
            name='Subscription',
        ),
        migrations.DeleteModel(
            name='SubscriptionChange',
        ),
        migrations.DeleteModel(
            name='UsageCounter',
        ),
        migrations.DeleteModel(
            name='UsageEvent',
        ),
        migrations.DeleteModel(
            name='WebhookDelivery',
        ),
        migrations.DeleteModel(
            name='WebhookEndpoint',
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
