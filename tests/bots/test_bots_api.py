import pytest

from bots.models import Bot
from tests.factories import BotFactory, TicketFactory

pytestmark = pytest.mark.django_db


def test_an_admin_creates_a_bot_with_defaults_filled_in(admin_client, tenant):
    response = admin_client.post(
        "/api/v1/bots/",
        {"name": "Helpdesk", "allowed_origins": ["https://Shop.Example.com"]},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["public_key"].startswith("pk_")
    assert body["allowed_origins"] == ["https://shop.example.com"]
    assert body["settings"]["unknown_handoff"] == 0.8
    assert body["settings"]["theme"]["position"] == "right"
    assert Bot.objects.for_tenant(tenant).count() == 1


def test_settings_are_merged_and_validated_on_update(owner_client, bot):
    response = owner_client.patch(
        f"/api/v1/bots/{bot.id}/", {"settings": {"theme": {"colour": "#112233"}}}, format="json"
    )
    assert response.status_code == 200
    bot.refresh_from_db()
    assert bot.settings["theme"]["colour"] == "#112233"
    assert bot.settings["unknown_handoff"] == 0.8


def test_invalid_settings_are_rejected_field_by_field_and_nothing_changes(owner_client, bot):
    before = bot.settings
    response = owner_client.patch(
        f"/api/v1/bots/{bot.id}/",
        {"settings": {"unknown_handoff": 2, "theme": {"colour": "red"}, "colour": "#fff"}},
        format="json",
    )

    assert response.status_code == 400
    details = response.json()["error"]["details"]["settings"]
    assert set(details) == {"unknown_handoff", "theme", "colour"}
    bot.refresh_from_db()
    assert bot.settings == before


def test_an_origin_with_a_path_is_rejected(owner_client):
    response = owner_client.post(
        "/api/v1/bots/", {"name": "B", "allowed_origins": ["https://shop.example.com/help"]}, format="json"
    )
    assert response.status_code == 400
    assert "allowed_origins" in response.json()["error"]["details"]
    assert not Bot.unscoped.exists()


def test_wrong_typed_fields_are_rejected(owner_client):
    response = owner_client.post("/api/v1/bots/", {"name": ["not", "a", "name"]}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["error"]["details"]


def test_a_duplicate_bot_name_is_a_conflict(owner_client, bot):
    response = owner_client.post("/api/v1/bots/", {"name": bot.name}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "bot_name_taken"


def test_agents_can_read_bots_but_not_change_them(agent_client, bot):
    assert agent_client.get(f"/api/v1/bots/{bot.id}/").status_code == 200
    response = agent_client.delete(f"/api/v1/bots/{bot.id}/")
    assert response.status_code == 403
    assert Bot.unscoped.filter(pk=bot.pk).exists()


def test_another_tenants_bot_is_not_found(owner_client, other_bot):
    response = owner_client.patch(f"/api/v1/bots/{other_bot.id}/", {"name": "Mine now"}, format="json")
    assert response.status_code == 404
    other_bot.refresh_from_db()
    assert other_bot.name == "Globex bot"


def test_canned_answers_and_human_intents_name_intents_the_active_version_knows(owner_client, shop_bot):
    response = owner_client.patch(
        f"/api/v1/bots/{shop_bot.id}/",
        {"settings": {"canned_answers": {"refund": "Refunds take 5 days."}, "human_intents": ["shipping"]}},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["settings"]["canned_answers"] == {"refund": "Refunds take 5 days."}
    assert response.json()["settings"]["human_intents"] == ["shipping"]


def test_a_canned_answer_for_an_intent_the_bot_does_not_know_is_refused_and_nothing_changes(owner_client, shop_bot):
    before = shop_bot.settings
    response = owner_client.patch(
        f"/api/v1/bots/{shop_bot.id}/",
        {"settings": {"canned_answers": {"refund": "Refunds take 5 days.", "warranty": "Two years."}}},
        format="json",
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_intent"
    assert "warranty" in error["message"]
    assert error["details"] == {"unknown": ["warranty"],
                                "known": ["cancel_subscription", "password_reset", "refund", "shipping"]}
    shop_bot.refresh_from_db()
    assert shop_bot.settings == before


def test_an_unknown_human_intent_is_refused(owner_client, shop_bot):
    response = owner_client.patch(f"/api/v1/bots/{shop_bot.id}/", {"settings": {"human_intents": ["warranty"]}},
                                  format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["unknown"] == ["warranty"]


def test_a_bot_without_tickets_or_an_active_version_takes_no_canned_answers_yet(owner_client):
    response = owner_client.post("/api/v1/bots/", {"name": "New", "settings": {"canned_answers": {"refund": "Soon."}}},
                                 format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_intent"
    assert "no tickets or active version" in response.json()["error"]["message"]
    assert not Bot.unscoped.exists()


def test_before_its_first_training_a_bot_takes_canned_answers_for_the_intents_its_tickets_hold(owner_client, tenant):
    """The next training learns them: the console offers them, so the API takes them."""
    bot = BotFactory(tenant=tenant)
    TicketFactory(bot=bot, intent="refund")

    taken = owner_client.patch(f"/api/v1/bots/{bot.id}/", {"settings": {"canned_answers": {"refund": "Soon."}}},
                               format="json")
    refused = owner_client.patch(f"/api/v1/bots/{bot.id}/", {"settings": {"human_intents": ["legal_threat"]}},
                                 format="json")

    assert taken.status_code == 200, taken.json()
    assert refused.status_code == 400 and refused.json()["error"]["details"]["unknown"] == ["legal_threat"]


def test_stored_settings_naming_intents_a_new_version_dropped_do_not_block_other_changes(owner_client, shop_bot):
    Bot.unscoped.filter(pk=shop_bot.pk).update(settings={**shop_bot.settings, "human_intents": ["retired"]})
    response = owner_client.patch(f"/api/v1/bots/{shop_bot.id}/", {"settings": {"theme": {"colour": "#112233"}}},
                                  format="json")
    assert response.status_code == 200, response.json()


@pytest.mark.parametrize("route", ["tickets/", "imports/", "training-runs/", "versions/"])
def test_a_bot_id_that_is_not_a_number_is_not_found_under_its_routes(owner_client, route):
    response = owner_client.get(f"/api/v1/bots/shop/{route}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
