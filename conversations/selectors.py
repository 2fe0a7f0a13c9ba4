"""Reads for conversations and answering: functions that take the tenant (or a widget key).

The reads made for every widget message are written in SQL (`Model.objects.raw` or a cursor):
building a query through the ORM's compiler costs 10 to 30 times what the database takes to run it,
and the answer path is bound by that Python time (`make bench-answer`).
"""

from datetime import datetime
from functools import cache

from django.db import connection
from django.db.models import Field, QuerySet

from bots.models import Bot
from conversations.models import Conversation, DataRightsRequest, Message
from knowledge.models import Ticket
from ml.answer_policy import TicketFacts
from tenants.models import Tenant


def get_bot_for_public_key(public_key: str) -> Bot | None:
    """The bot behind a widget key (the widget's way in: the key names the tenant)."""
    if not isinstance(public_key, str) or len(public_key) > 40:
        return None
    # Across tenants: the widget's key is what names the tenant.
    return (Bot.objects.across_tenants().select_related("tenant", "active_version").defer("active_version__metrics")
            .filter(public_key=public_key).first())


def conversation_for_visitor(*, tenant: Tenant, bot: Bot, conversation_id: int, visitor_id: str) -> Conversation | None:
    """The visitor's conversation with `bot`, carrying `bot` itself (not a lazily loaded copy)."""
    conversation = Conversation.objects.for_tenant(tenant).filter(
        pk=conversation_id, bot=bot, visitor_id=visitor_id).first()
    if conversation is not None:
        conversation.bot = bot
    return conversation


def answer_due_messages(*, tenant_id: int, conversation_id: int) -> QuerySet[Message]:
    """The conversation's visitor messages still owed a bot reply, in order."""
    return Message.objects.for_tenant(tenant_id).filter(conversation_id=conversation_id, answer_due=True).order_by(
        "seq")


def conversations_owed_answers(*, stored_before: datetime, limit: int) -> list[tuple[int, int]]:
    """(conversation id, tenant id) of conversations with a visitor message owed a reply since before
    `stored_before`, oldest first: a sweep across tenants (the beat task's); each one is then re-read through
    its own tenant."""
    owed = Message.objects.across_tenants().filter(answer_due=True, created_at__lt=stored_before).order_by(
        "created_at")
    seen: dict[tuple[int, int], None] = {}
    for row in owed.values_list("conversation_id", "tenant_id")[: limit * 4]:
        seen.setdefault(row)
        if len(seen) == limit:
            break
    return list(seen)


def messages_after(*, tenant: Tenant, conversation: Conversation, seq: int) -> QuerySet[Message]:
    """The conversation's messages with a sequence number above `seq`, in order."""
    return Message.objects.for_tenant(tenant).filter(conversation=conversation, seq__gt=seq).order_by("seq")


def ticket_facts(*, tenant_id: int, bot_id: int, ticket_ids: list[int]) -> dict[int, TicketFacts]:
    """Intent and resolution of the bot's tickets among `ticket_ids` (what the answer policy reads)."""
    if not ticket_ids:
        return {}
    placeholders = ", ".join(["%s"] * len(ticket_ids))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, intent, resolution FROM {Ticket._meta.db_table} "
                       f"WHERE tenant_id = %s AND bot_id = %s AND id IN ({placeholders})",
                       [tenant_id, bot_id, *ticket_ids])
        return {pk: TicketFacts(intent or "", resolution or "") for pk, intent, resolution in cursor.fetchall()}


# What a stored bot's answers depend on: its active version and, through `updated_at` (every change
# saves it), its settings.
BotStamp = tuple[int | None, datetime]


@cache
def _locked_conversation_query() -> tuple[str, list[Field], list[list], list[str]]:
    """The SQL of `locked_conversation`, the fields it reads, each one's database converters, and the
    conversation's attribute names (its row, then the bot's stamp)."""
    row_fields = list(Conversation._meta.concrete_fields)
    fields = [*row_fields, Bot._meta.get_field("active_version"), Bot._meta.get_field("updated_at")]
    columns = [f"c.{field.column}" for field in row_fields]
    lock = " FOR UPDATE OF c" if connection.features.has_select_for_update_of else ""
    sql = (f"SELECT {', '.join(columns)}, b.active_version_id, b.updated_at FROM {Conversation._meta.db_table} c "
           f"JOIN {Bot._meta.db_table} b ON b.id = c.bot_id WHERE c.id = %s AND c.tenant_id = %s{lock}")
    converters = [connection.ops.get_db_converters(col) + col.get_db_converters(connection)
                  for col in (field.get_col(field.model._meta.db_table) for field in fields)]
    return sql, fields, converters, [field.attname for field in row_fields]


def locked_conversation(*, tenant_id: int, conversation_id: int) -> tuple[Conversation, BotStamp] | None:
    """The conversation row, locked until the transaction ends (SQLite locks the database instead), and
    its bot's stamp as now stored."""
    sql, fields, converters, attnames = _locked_conversation_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [conversation_id, tenant_id])
        row = cursor.fetchone()
    if row is None:
        return None
    values = []
    for value, field, field_converters in zip(row, fields, converters, strict=True):
        for convert in field_converters:
            value = convert(value, field, connection)
        values.append(value)
    *conversation_values, active_version_id, bot_updated_at = values
    return Conversation.from_db(connection.alias, attnames, conversation_values), (active_version_id, bot_updated_at)


def current_bot(bot: Bot, stamp: BotStamp) -> Bot:
    """`bot` itself while `stamp` (as stored) is its own and its tenant and version are loaded, else the bot as
    stored, with its tenant and version: the answer path reads both from async code, where a lazy read fails."""
    loaded = Bot.tenant.is_cached(bot) and (bot.active_version_id is None or Bot.active_version.is_cached(bot))
    if loaded and (bot.active_version_id, bot.updated_at) == stamp:
        return bot
    return Bot.objects.for_tenant(bot.tenant_id).select_related("tenant", "active_version").defer(
        "active_version__metrics").get(pk=bot.pk)


def message_id_for_client_msg(*, conversation: Conversation, client_msg_id: str) -> int | None:
    """The stored message the visitor's client sent under `client_msg_id`, if any (its unique index)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {Message._meta.db_table} WHERE tenant_id = %s AND conversation_id = %s "
                       # the partial unique index's condition, word for word, so SQLite uses that index
                       "AND client_msg_id = %s AND NOT (client_msg_id = '')",
                       [conversation.tenant_id, conversation.pk, client_msg_id])
        row = cursor.fetchone()
    return row[0] if row else None


def data_rights_requests(*, tenant: Tenant, visitor_hash: str | None = None) -> QuerySet[DataRightsRequest]:
    """The tenant's audit of visitors' data exported or erased, newest first; only one visitor's requests when
    `visitor_hash` names them (the audit keeps the keyed hash, never the id: `visitor_data.visitor_hash`)."""
    requests = DataRightsRequest.objects.for_tenant(tenant).select_related("requested_by")
    if visitor_hash is not None:
        requests = requests.filter(visitor_hash=visitor_hash)
    return requests.order_by("-at", "-pk")
