"""A client generated from the served OpenAPI schema, and nothing else, takes a new tenant from sign-up to answers.

The test speaks to a live server (daphne and a real worker) only through the generated package: its typed
operations and models, `Client` for the sign-up session and `AuthenticatedClient(token=key)` for the API key.
"""

import csv
import io
from pathlib import Path

import pytest

from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BITEXT = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "bitext-customer-support" / "tickets.csv"
INTENTS = ("cancel_order", "recover_password", "delivery_options", "check_payment_methods")
TICKETS_PER_INTENT = 12
PASSWORD_ANSWER = "Choose 'Forgot password' on the sign-in page; the link we email you is valid for one hour."
PAYMENT_ANSWER = "We take Visa, Mastercard, American Express and PayPal."
PASSWORD_QUESTION = "I forgot my password, how can I recover it?"
PAYMENT_QUESTION = "which payment methods do you accept?"
NONSENSE_QUESTION = "purple elephants sing quantum lullabies?"
VISITOR = "crm-contact-4711"


def bitext_tickets_csv() -> bytes:
    """A few dozen of Bitext's tickets, the first of each intent, as the export a shop would upload (its columns)."""
    picked: dict[str, list[dict]] = {intent: [] for intent in INTENTS}
    with BITEXT.open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            tickets = picked.get(row["intent"])
            if tickets is not None and len(tickets) < TICKETS_PER_INTENT:
                tickets.append(row)
    columns = ["instruction", "intent", "category", "response"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(row for tickets in picked.values() for row in tickets)
    return out.getvalue().encode()


def parsed(response, status: int):
    """The parsed body of a generated call's response, which must have `status` (else the server's answer shows)."""
    assert response.status_code == status, response.content.decode(errors="replace")
    return response.parsed


def finished(read, *, statuses: tuple[str, ...], what: str):
    """Poll `read()` (a generated call's response) until the row it reads has one of `statuses`."""
    def done():
        row = parsed(read(), 200)
        return row if row.status in statuses else None

    return wait_for(done, timeout=300, interval=0.5, message=what)


@pytest.mark.skipif(not BITEXT.exists(), reason="the shared datasets are not beside the repository")
def test_a_generated_client_signs_up_trains_a_bot_and_reads_its_answers(replydesk_server, generated_client, operation):
    models = generated_client.models
    anonymous = generated_client.Client(base_url=replydesk_server, raise_on_unexpected_status=True)

    signed_up = parsed(operation("v1_signup_create").sync_detailed(client=anonymous, body=models.SignUpRequest(
        tenant_name="Trailhead Outfitters", email="robin@trailhead.example", password="a long sign-up secret",
        display_name="Robin")), 201)
    assert (signed_up.name, signed_up.role) == ("Trailhead Outfitters", "owner")

    # The sign-up signed the owner in: its session cookie, and the CSRF token a session's writes must echo.
    session_cookies = dict(anonymous.get_httpx_client().cookies)
    owner = generated_client.Client(base_url=replydesk_server, cookies=session_cookies,
                                    headers={"X-CSRFToken": session_cookies["csrftoken"]},
                                    raise_on_unexpected_status=True)
    issued = parsed(operation("v1_api_keys_create").sync_detailed(
        client=owner, body=models.ApiKeyRequest(name="Onboarding script")), 201)
    assert issued.key.startswith("rdk_") and issued.key.startswith(issued.prefix)
    client = generated_client.AuthenticatedClient(base_url=replydesk_server, token=issued.key,
                                                  raise_on_unexpected_status=True)

    bot = parsed(operation("v1_bots_create").sync_detailed(client=client, body=models.BotRequest(
        name="Trailhead help", greeting="Hi! Ask me about orders, delivery or your account.")), 201)
    assert bot.name == "Trailhead help" and bot.public_key

    tickets = generated_client.types.File(payload=io.BytesIO(bitext_tickets_csv()), file_name="trailhead-tickets.csv",
                                          mime_type="text/csv")
    uploaded = parsed(operation("v1_bots_imports_create").sync_detailed(
        bot_pk=bot.id, client=client, body=models.UploadRequest(file=tickets)), 202)
    imported = finished(lambda: operation("v1_bots_imports_retrieve").sync_detailed(
        bot_pk=bot.id, id=uploaded.id, client=client), statuses=("succeeded", "failed"),
        what="the worker to import the tickets")
    assert imported.status == "succeeded", imported.error
    assert (imported.rows_read, imported.rows_imported) == (48, 48)

    started = parsed(operation("v1_bots_training_runs_create").sync_detailed(bot_pk=bot.id, client=client), 202)
    run = finished(lambda: operation("v1_bots_training_runs_retrieve").sync_detailed(
        bot_pk=bot.id, id=started.id, client=client), statuses=("succeeded", "failed", "cancelled"),
        what="the worker to train the bot")
    assert run.status == "succeeded", run.error
    assert run.ticket_count == 48 and run.version_id is not None

    # Canned answers name intents the active version knows, so they come after the first training.
    answers = {"recover_password": PASSWORD_ANSWER, "check_payment_methods": PAYMENT_ANSWER}
    bot = parsed(operation("v1_bots_partial_update").sync_detailed(
        id=bot.id, client=client, body=models.PatchedBotRequest.from_dict({"settings": {"canned_answers": answers}})),
        200)
    assert bot.settings.canned_answers.to_dict() == answers

    def ask(text: str, **conversation):
        return parsed(operation("v1_bots_answer_create").sync_detailed(
            id=bot.id, client=client, body=models.AnswerInputRequest(text=text, visitor_id=VISITOR, **conversation)),
            200)

    password = ask(PASSWORD_QUESTION)
    assert (password.answered, password.action, password.text) == (True, "answer", PASSWORD_ANSWER)
    assert (password.decision.rule, password.decision.intent) == ("canned_answer", "recover_password")
    payment = ask(PAYMENT_QUESTION, conversation_id=password.conversation_id)
    assert (payment.answered, payment.action, payment.text) == (True, "answer", PAYMENT_ANSWER)
    nonsense = ask(NONSENSE_QUESTION, conversation_id=password.conversation_id)
    assert nonsense.answered is False and nonsense.action in ("handoff", "clarify"), nonsense.decision
    assert {payment.conversation_id, nonsense.conversation_id} == {password.conversation_id}

    exported = parsed(operation("v1_visitors_export_create").sync_detailed(visitor_id=VISITOR, client=owner), 200)
    [conversation] = exported["conversations"]
    assert [(message["seq"], message["sender"], message["text"]) for message in conversation["messages"]] == [
        (password.question_seq, "visitor", PASSWORD_QUESTION), (password.seq, "bot", PASSWORD_ANSWER),
        (payment.question_seq, "visitor", PAYMENT_QUESTION), (payment.seq, "bot", PAYMENT_ANSWER),
        (nonsense.question_seq, "visitor", NONSENSE_QUESTION), (nonsense.seq, "bot", nonsense.text),
    ]
