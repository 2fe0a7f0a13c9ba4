from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [("tenants", "0004_seed_plans")]

    operations = [migrations.RemoveField(model_name="tenant", name="plan")]
