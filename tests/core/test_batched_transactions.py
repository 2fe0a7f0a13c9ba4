"""Writes batched into one transaction: one commit for all, and each item's failure kept to itself."""

import pytest
from django.db import transaction

from conversations.models import Conversation
from core.batched_transactions import each_in_one_transaction, result_or_raise
from core.errors import DomainError, NotFound
from tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db(transaction=True)


def rename(conversation: Conversation, fail_after_writing: bool = False, refuse: bool = False) -> str:
    if refuse:
        raise NotFound("gone", code="conversation_not_found")
    Conversation.unscoped.filter(pk=conversation.pk).update(visitor_id=f"renamed-{conversation.pk}")
    if fail_after_writing:
        raise RuntimeError("the disk is full")
    return f"renamed-{conversation.pk}"


def visitor_ids(conversations) -> list[str]:
    return [Conversation.unscoped.get(pk=c.pk).visitor_id for c in conversations]


def test_every_item_is_written_and_committed_once_with_results_in_item_order(tenant):
    conversations = ConversationFactory.create_batch(3, bot__tenant=tenant)
    commits = []

    def write(conversation):
        transaction.on_commit(lambda: commits.append(conversation.pk))
        return rename(conversation)

    outcomes = each_in_one_transaction(list(reversed(conversations)), write, lock_order=lambda c: c.pk)

    assert outcomes == [f"renamed-{c.pk}" for c in reversed(conversations)]
    assert commits == sorted(c.pk for c in conversations)  # written in lock order, committed together
    assert visitor_ids(conversations) == [f"renamed-{c.pk}" for c in conversations]


def test_an_item_refused_before_writing_gets_its_error_and_the_others_are_stored(tenant):
    kept, refused = ConversationFactory.create_batch(2, bot__tenant=tenant)

    outcomes = each_in_one_transaction([kept, refused], lambda c: rename(c, refuse=c == refused))

    assert outcomes[0] == f"renamed-{kept.pk}"
    assert isinstance(outcomes[1], NotFound) and outcomes[1].code == "conversation_not_found"
    assert visitor_ids([kept, refused]) == [f"renamed-{kept.pk}", refused.visitor_id]


def test_an_item_failing_after_it_wrote_is_rolled_back_alone_and_the_others_are_stored(tenant):
    first, failing, last = ConversationFactory.create_batch(3, bot__tenant=tenant)
    counted = []

    outcomes = each_in_one_transaction([first, failing, last], lambda c: rename(c, fail_after_writing=c == failing),
                                       after=lambda results: counted.append(len(results)))

    assert outcomes[0] == f"renamed-{first.pk}" and outcomes[2] == f"renamed-{last.pk}"
    assert isinstance(outcomes[1], RuntimeError)
    assert visitor_ids([first, failing, last]) == [f"renamed-{first.pk}", failing.visitor_id, f"renamed-{last.pk}"]
    # the batch failed before its `after`; each item written again alone was counted alone, but the failing one
    assert counted == [1, 1]


def test_a_single_item_raises_as_a_plain_call_would(tenant):
    conversation = ConversationFactory(bot__tenant=tenant)

    with pytest.raises(RuntimeError):
        each_in_one_transaction([conversation], lambda c: rename(c, fail_after_writing=True))
    assert visitor_ids([conversation]) == [conversation.visitor_id]
    with pytest.raises(DomainError):
        result_or_raise(each_in_one_transaction([conversation], lambda c: rename(c, refuse=True))[0])
