"""Conversation history (every role): search and filter, read a transcript with the bot's reasons, export CSV."""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.http import require_GET

from bots.models import Bot
from console.csv_export import csv_download
from console.forms import ConversationSearchForm
from console.selectors import bot_intents
from console.views import console_page, console_render
from conversations.history import search_conversations, transcript, transcript_messages
from conversations.models import Conversation, MessageKind
from handoff.services import display_name
from tenants.models import ALL_ROLES

CONVERSATIONS_PER_PAGE = 25
LIST_HEADER = ["conversation_id", "bot", "started_at", "status", "channel", "visitor_id", "messages",
               "first_question", "intent", "handed_off_at", "handoff_reason", "agent", "csat", "closed_at",
               "resolution", "visitor_email"]
TRANSCRIPT_HEADER = ["seq", "created_at", "sender", "kind", "internal", "author", "text", "rule", "intent",
                     "confidence", "ticket_ids", "version_id", "feedback", "corrected_intent"]


def _search_form(request) -> ConversationSearchForm:
    tenant = request.console.tenant
    bots = list(Bot.objects.for_tenant(tenant).select_related("active_version").order_by("created_at"))
    intents = sorted({intent for bot in bots for intent in bot_intents(tenant=tenant, bot=bot)})
    return ConversationSearchForm(request.GET, bots=bots, intents=intents)


def _list_page(request, search: ConversationSearchForm):
    valid = search.is_valid()
    found = search_conversations(tenant=request.console.tenant, filters=search.filters()) if valid else None
    page = Paginator(found if valid else Conversation.objects.none(), CONVERSATIONS_PER_PAGE).get_page(
        request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return console_render(request, "console/conversations/list.html", {
        "section": "conversations", "search": search, "page": page, "querystring": params.urlencode(),
    }, status=200 if valid else 400)


@console_page(roles=ALL_ROLES)
@require_GET
def conversation_list(request):
    return _list_page(request, _search_form(request))


@console_page(roles=ALL_ROLES)
@require_GET
def export_conversations(request):
    """The filtered list as CSV, streamed (bad filters: the list page with the errors)."""
    search = _search_form(request)
    if not search.is_valid():
        return _list_page(request, search)
    found = search_conversations(tenant=request.console.tenant, filters=search.filters())
    return csv_download(request, filename=f"conversations-{timezone.localdate():%Y%m%d}.csv", header=LIST_HEADER,
                        queryset=found, to_row=_list_row)


def _list_row(conversation: Conversation) -> list:
    return [conversation.pk, conversation.bot.name, conversation.created_at, conversation.status,
            conversation.channel, conversation.visitor_id, conversation.message_count, conversation.first_question,
            conversation.first_intent, conversation.handed_off_at, conversation.handoff_reason,
            display_name(conversation.claimed_by) if conversation.claimed_by_id else "", conversation.csat,
            conversation.closed_at, conversation.resolution, conversation.visitor_email]


def _conversation(request, conversation_id: int) -> Conversation:
    return get_object_or_404(Conversation.objects.for_tenant(request.console.tenant).select_related(
        "bot", "claimed_by"), pk=conversation_id)


@console_page(roles=ALL_ROLES)
@require_GET
def transcript_page(request, conversation_id: int):
    conversation = _conversation(request, conversation_id)
    return console_render(request, "console/conversations/transcript.html", {
        "section": "conversations", "conversation": conversation,
        "entries": transcript(tenant=request.console.tenant, conversation=conversation),
        "agent": display_name(conversation.claimed_by) if conversation.claimed_by_id else None,
    })


@console_page(roles=ALL_ROLES)
@require_GET
def export_transcript(request, conversation_id: int):
    conversation = _conversation(request, conversation_id)
    return csv_download(
        request, filename=f"conversation-{conversation.pk}.csv", header=TRANSCRIPT_HEADER, key="seq",
        queryset=transcript_messages(tenant=request.console.tenant, conversation=conversation), to_row=_message_row,
    )


def _message_row(message) -> list:
    decision = message.decision or {}
    internal = "yes" if message.kind == MessageKind.NOTE else ""
    return [message.seq, message.created_at, message.sender, message.kind, internal,
            display_name(message.sent_by) if message.sent_by_id else "", message.text, decision.get("rule"),
            decision.get("intent"), decision.get("confidence"),
            " ".join(str(pk) for pk in decision.get("ticket_ids") or []), decision.get("version_id"),
            message.feedback, message.corrected_intent]
