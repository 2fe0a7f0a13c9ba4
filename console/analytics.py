"""The dashboard's content for a manager: each bot's onboarding checklist, and one bot's analytics over a period."""

from django.http import QueryDict

from analytics.selectors import bot_analytics
from analytics.services import dashboard_unanswered_questions
from console import charts
from console.forms import AnalyticsForm, BotCreateForm
from console.selectors import onboarding_checklists
from conversations.periods import period_of
from tenants.models import Tenant

CONVERSATION_SERIES = [
    ("automated", "Resolved by the bot", charts.GOOD),
    ("handed_off", "Handed to a person", charts.WARN),
    ("open_or_unresolved", "Open or unresolved", "#94a3b8"),
]
MESSAGE_SERIES = [("messages", "Messages", charts.ACCENT)]


def dashboard_context(*, tenant: Tenant, params: QueryDict, bot_form: BotCreateForm | None = None) -> dict:
    """What the dashboard shows; `params` are the page's query parameters (bot, days)."""
    checklists = onboarding_checklists(tenant=tenant)
    form = AnalyticsForm(params or None, bots=[checklist.bot for checklist in checklists])
    bot, days = form.chosen()
    context = {
        "checklists": checklists,
        "bot_form": bot_form or BotCreateForm(), "analytics_form": form, "analytics_bot": bot,
    }
    if bot is None:
        return context
    period = period_of(days)
    analytics = bot_analytics(tenant=tenant, bot=bot, period=period)
    return {
        **context, "analytics": analytics,
        # grouped by meaning by a task (queued here when not done yet), by wording meanwhile
        "unanswered": dashboard_unanswered_questions(tenant=tenant, bot=bot, period=period),
        "conversations_svg": charts.daily_bars(analytics.days, CONVERSATION_SERIES,
                                               label=f"Conversations per day over the last {days} days"),
        "messages_svg": charts.daily_bars(analytics.days, MESSAGE_SERIES,
                                          label=f"Messages per day over the last {days} days"),
        "csat_svg": charts.distribution_bars(analytics.csat_distribution, label="Ratings from 1 to 5 stars"),
        "handoff_total": sum(n for _, n in analytics.handoff_reasons),
    }
