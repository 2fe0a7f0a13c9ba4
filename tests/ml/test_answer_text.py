"""Answer text a tenant would sign: placeholders filled, or whole sentences dropped, or the answer refused; canned
answers drafted from past resolutions."""

import re

import pytest

from ml.answer_text import (
    PLACEHOLDER,
    REDACTED,
    Token,
    answer_text,
    count_tokens,
    draft_canned_answer,
    fill_placeholders,
    find_tokens,
    is_filled,
    strip_greeting_and_signature,
)

# The sentences the old deletion made of Bitext resolutions: "Log in to your account on our.", "Navigate to the or
# section", "Reach out to them by phone at or through our feature on the website."
BROKEN = [
    "Log in to your account on our {{Website URL}}.",
    "Navigate to the {{Settings}} or {{Profile}} section.",
    "Reach out to them by phone at {{Customer Support Phone Number}} or through our {{Live Chat Support}} feature "
    "on the website.",
]
VALUES = {"website_url": "shop.example.com", "SETTINGS": "Settings", " Profile ": "Profile",
          "Customer Support Phone Number": "0800 123 456", "live chat support": "live chat"}
LEFTOVER = re.compile(r"\{\{|\}\}|\[(?:EMAIL|PHONE|CARD|IBAN)\]")
PASSWORD_RESET = """I'm sorry to hear you can't get into your account. To reset your password, follow these steps:

1. Go to the {{Login Page}} on {{Website URL}}.
2. Click on "Forgot password".
3. Enter the email address of your account.
4. Open the link in the email we send you and choose a new password.

If the email does not arrive, check your spam folder or call {{Customer Support Phone Number}}. Let me know if \
you need anything else!"""


def words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text)


@pytest.mark.parametrize("sentence", BROKEN)
def test_a_broken_sentence_alone_is_filled_when_the_tenant_has_the_values(sentence):
    assert answer_text(sentence, VALUES).text == {
        BROKEN[0]: "Log in to your account on our shop.example.com.",
        BROKEN[1]: "Navigate to the Settings or Profile section.",
        BROKEN[2]: "Reach out to them by phone at 0800 123 456 or through our live chat feature on the website.",
    }[sentence]


@pytest.mark.parametrize("sentence", BROKEN)
def test_a_broken_sentence_alone_without_values_is_refused_never_sent_with_a_word_missing(sentence):
    result = answer_text(sentence, {})
    assert not result.usable and result.text is None
    assert result.unfilled


@pytest.mark.parametrize("sentence", BROKEN)
def test_a_broken_sentence_among_others_is_dropped_whole_and_the_rest_kept_word_for_word(sentence):
    text = f"To change your delivery address, open your orders. {sentence} Pick the order and choose a new address."
    result = answer_text(text, {})
    assert result.usable and result.rewritten
    assert result.text == "To change your delivery address, open your orders. Pick the order and choose a new address."


def test_placeholder_names_match_whatever_their_case_spaces_or_underscores():
    assert fill_placeholders("Call {{ Customer_Support  phone }}.", {"customer support Phone": "0800"}).text \
        == "Call 0800."


def test_filling_says_what_is_left_unfilled_and_leaves_it_as_written():
    filled = fill_placeholders("Order {{Order Number}} ships from {{Warehouse}}; we wrote to [EMAIL].",
                               {"warehouse": "Leeds", "Order number": "  "})
    assert filled.text == "Order {{Order Number}} ships from Leeds; we wrote to [EMAIL]."
    assert filled.unfilled == (Token(PLACEHOLDER, "Order Number"), Token(REDACTED, "[EMAIL]"))
    assert not filled.complete
    assert fill_placeholders("Nothing to fill.", {}).complete


def test_a_redaction_token_is_never_filled_even_with_a_value_of_that_name():
    assert not is_filled(Token(REDACTED, "[PHONE]"), {"[PHONE]": "0800", "phone": "0800"})
    assert answer_text("Call us on [PHONE].", {"[PHONE]": "0800", "phone": "0800"}).text is None


def test_an_unfilled_list_item_goes_whole_and_the_list_is_numbered_again():
    result = answer_text(PASSWORD_RESET, {})
    assert result.text == (
        "I'm sorry to hear you can't get into your account. To reset your password, follow these steps:\n\n"
        "1. Click on \"Forgot password\".\n"
        "2. Enter the email address of your account.\n"
        "3. Open the link in the email we send you and choose a new password.\n\n"
        "Let me know if you need anything else!"
    )
    assert {token.name for token in result.unfilled} == {"Login Page", "Website URL", "Customer Support Phone Number"}


def test_with_every_value_given_nothing_is_dropped():
    result = answer_text(PASSWORD_RESET, {"Login Page": "sign-in page", **VALUES, "website url": "shop.example.com"})
    assert not result.rewritten and result.text.count("\n1. ") == 1 and "4. Open the link" in result.text
    assert "Go to the sign-in page on shop.example.com." in result.text and "call 0800 123 456." in result.text


def test_an_introduction_goes_with_its_list_when_every_item_is_dropped():
    text = "Your invoice is in the Billing section of your account.\nTo change it:\n1. Open {{Settings}}.\n" \
           "2. Choose {{Invoices}}."
    assert answer_text(text, {}).text == "Your invoice is in the Billing section of your account."


def test_sub_items_go_with_their_dropped_item():
    text = "Steps to take now:\n1. Open {{Settings}}.\n   - Then the first tab.\n2. Choose your plan and save it."
    assert answer_text(text, {}).text == "Steps to take now:\n1. Choose your plan and save it."


def test_what_is_left_must_still_answer_not_only_apologise_and_offer_help():
    text = "I'm sorry for the trouble. Reset it at {{Website URL}}. Thank you for your patience! Let me know if you " \
           "need more help."
    assert not answer_text(text, {}).usable


def test_a_text_holding_nothing_to_fill_is_sent_as_it_is():
    text = "Refunds take 5 days.\n\n1. Open your orders.\n2. Pick one."
    assert answer_text(f"  {text}\n", {}).text == text
    assert not answer_text("   ", {}).usable


@pytest.mark.parametrize("text", [PASSWORD_RESET, *BROKEN, "Write to [EMAIL] or call [PHONE].\nYour card [CARD] "
                                  "was charged twice, so we refunded the second payment today."])
def test_an_answer_never_holds_a_placeholder_or_redaction_token_and_every_word_it_keeps_was_in_a_kept_sentence(text):
    result = answer_text(text, {})
    if result.usable:
        assert not LEFTOVER.search(result.text)
        for line in result.text.splitlines():
            body = re.sub(r"^\s*(?:\d+[.)]|[-*•])\s+", "", line)
            assert not body or body in text or all(part in text for part in re.split(r"(?<=[.!?]) ", body))


def test_tokens_are_found_once_each_in_order():
    assert find_tokens("{{A}} then [PHONE], {{ a }} and [PHONE] and {{B b}}") == [
        Token(PLACEHOLDER, "A"), Token(REDACTED, "[PHONE]"), Token(PLACEHOLDER, "B b")]


def test_tokens_are_counted_by_the_resolutions_holding_them_most_used_first_spelled_as_most_write_them():
    counts = count_tokens([
        "Visit {{Website URL}} or {{website url}}.", "See {{website_url}}.", "See {{Website URL}}.",
        "We wrote to [EMAIL].", "", "Nothing here.",
    ])
    assert [(c.token.written, c.resolutions) for c in counts] == [("{{Website URL}}", 3), ("[EMAIL]", 1)]


@pytest.mark.parametrize(("resolution", "expected"), [
    ("Hi John,\n\nYour refund was sent today.", "Your refund was sent today."),
    ("Hello there! Your refund was sent today.", "Your refund was sent today."),
    ("Dear customer, your refund was sent today.", "Your refund was sent today."),
    ("Hi {{Customer Name}},\nYour refund was sent today.", "Your refund was sent today."),
    ("Your refund was sent today.\n\nBest, Sarah", "Your refund was sent today."),
    ("Your refund was sent today. Best, Sarah", "Your refund was sent today."),
    ("Your refund was sent today.\n\nKind regards,\nTom", "Your refund was sent today."),
    ("Your refund was sent today.\n\nThanks,\n-- Support team", "Your refund was sent today."),
    ("Your refund was sent today.\nBest regards,\nThe Acme Support Team", "Your refund was sent today."),
    ("Thanks for waiting. Your refund was sent today.", "Thanks for waiting. Your refund was sent today."),
    ("Your refund was sent today.\nHave a look at your bank statement", "Your refund was sent today.\nHave a look at "
                                                                        "your bank statement"),
    ("Hierarchy of refunds: card first.", "Hierarchy of refunds: card first."),
])
def test_greetings_and_signatures_are_stripped_and_the_answer_kept(resolution, expected):
    assert strip_greeting_and_signature(resolution) == expected


def test_a_draft_is_the_most_representative_resolution_without_greeting_or_signature_placeholders_kept():
    resolutions = [
        "Hi Ann,\nRefunds reach your card within 5 days of {{Refund Approval}}.\nBest, Sarah",
        "Refunds reach your card within 5 working days.",
        "Hello Bob! Refunds reach your card within 5 days of {{Refund Approval}}.\nKind regards,\nTom",
        "Our shop in Leeds is open on Sundays too.",
    ]
    draft = draft_canned_answer(resolutions)
    assert draft == "Refunds reach your card within 5 days of {{Refund Approval}}."
    assert draft_canned_answer(list(reversed(resolutions))) == draft


def test_a_draft_avoids_resolutions_with_redaction_tokens_when_it_can():
    assert draft_canned_answer(["Call [PHONE] and quote your order.", "Call us and quote your order."]) == \
        "Call us and quote your order."
    assert draft_canned_answer(["Call [PHONE] and quote your order."]) == "Call [PHONE] and quote your order."


def test_no_draft_without_a_resolution():
    assert draft_canned_answer([]) is None
    assert draft_canned_answer(["", "Best,\nTom"]) is None


@pytest.mark.parametrize(("resolution", "reference"), [
    ("I've updated the address on order D71811. You'll get a confirmation email with the new delivery details.",
     "D71811"),
    ("Your order ORD-20931 left our warehouse today. The tracking link follows by email within the hour.",
     "ORD-20931"),
    ("Ticket #48213 is closed. Refunds reach your card within 5-10 working days of the return.", "#48213"),
    ("Refund 100234567 is on its way. Refunds reach your card within 5-10 working days of the return.",
     "100234567"),
])
def test_a_past_resolution_never_sends_another_customers_order_or_ticket_number(resolution, reference):
    written = answer_text(resolution, {}, references=True)
    assert written.usable and reference not in written.text and written.rewritten
    assert written.text in resolution, "whole sentences dropped, never a word"


def test_model_names_years_and_short_numbers_are_not_customers_references():
    text = "The X100 and COVID19 rules from 2024 still apply: delivery takes 5-10 working days, mp3 files too."
    assert find_tokens(text, references=True) == []
    assert answer_text(text, {}, references=True).text == text


def test_references_are_looked_for_only_when_asked_a_tenants_own_canned_answer_keeps_its_codes():
    text = "Use the code SAVE2024 at checkout to get ten percent off your next order."
    assert answer_text(text, {}).text == text
    assert answer_text(text, {}, references=True).text is None


def test_a_draft_avoids_resolutions_naming_a_customers_order_when_it_can():
    resolutions = ["I've asked the warehouse to stop order D90556 before it is packed.",
                   "Go to Account > Orders, pick the order and press Cancel order before it is packed."] * 3
    assert draft_canned_answer(resolutions) == resolutions[1]


@pytest.mark.parametrize(("resolution", "expected"), [
    ("Orders can be cancelled until they are packed: go to Account > Orders > D90556 and press Cancel order. "
     "If the button is gone, the parcel has shipped and you can return it instead.",
     "Orders can be cancelled until they are packed: go to Account > Orders > your order and press Cancel order. "
     "If the button is gone, the parcel has shipped and you can return it instead."),
    ("Start a return under Account > Orders > ORD-20931 > Return items.",
     "Start a return under Account > Orders > your order > Return items."),
    ("Open My tickets>#48213>Reply to add a photo.", "Open My tickets>your ticket>Reply to add a photo."),
])
def test_a_customers_reference_in_a_menu_path_becomes_the_visitors_own_and_the_sentence_is_kept(
        resolution, expected):
    written = answer_text(resolution, {}, references=True)
    assert written.text == expected and not written.rewritten


def test_a_reference_outside_a_menu_path_takes_its_sentence_with_it_a_claim_about_an_order_is_never_reworded():
    resolution = ("I checked order G40028: it left our warehouse and is with the carrier. "
                  "The tracking link in your shipping email shows the latest scan.")
    assert answer_text(resolution, {}, references=True).text == \
        "The tracking link in your shipping email shows the latest scan."


def test_a_draft_puts_references_in_menu_paths_in_general_terms():
    resolutions = ["Hi Anna, go to Account > Orders > D90556 and press Cancel order. Best, Sam"] * 2
    assert draft_canned_answer(resolutions) == "Go to Account > Orders > your order and press Cancel order."


def test_a_draft_never_names_a_customers_order_even_when_every_resolution_does():
    resolutions = [
        "You can follow order A66566 under Account > Orders; the tracking link updates on every scan. "
        "Most orders arrive within 3-5 working days of shipping with {{Carrier}}.",
        "I checked order G40028: it left our warehouse. Most orders arrive within 3-5 working days of shipping.",
    ]
    draft = draft_canned_answer(resolutions)
    assert draft in ("Most orders arrive within 3-5 working days of shipping with {{Carrier}}.",
                     "Most orders arrive within 3-5 working days of shipping.")
    assert not [token for token in find_tokens(draft, references=True) if token.kind != PLACEHOLDER]


def test_no_draft_when_nothing_but_a_customers_order_is_said():
    assert draft_canned_answer(["I've cancelled order G40028 for you.", "Order D71811 is cancelled now."]) is None
