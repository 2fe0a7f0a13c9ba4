from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "knowledge"
    verbose_name = "Knowledge"

    def ready(self) -> None:
        from billing.models import Quota
        from billing.stock import register_stock_counter
        from bots.bot_settings import register_ticket_intents
        from knowledge.selectors import stored_tickets, ticket_intents

        register_stock_counter(Quota.STORED_TICKETS, lambda tenant: stored_tickets(tenant).count())
        register_ticket_intents(ticket_intents)
