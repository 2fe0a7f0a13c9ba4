from django.apps import AppConfig


class BotsConfig(AppConfig):
    name = "bots"
    verbose_name = "Bots"

    def ready(self) -> None:
        from billing.models import Quota
        from billing.stock import register_stock_counter
        from bots.models import Bot

        register_stock_counter(Quota.BOTS, lambda tenant: Bot.objects.for_tenant(tenant).count())
