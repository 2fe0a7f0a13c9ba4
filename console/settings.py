"""Bot settings: one form, validated by the bot settings serializer through `update_bot`; a canned answer preview."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from bots import services as bot_services
from console import charts
from console.access import bot_for
from console.forms import BotSettingsForm, CannedPreviewForm
from console.selectors import bot_intents, canned_answer_drafts, resolution_tokens
from console.views import console_page, console_render
from core.errors import DomainError
from ml.answer_text import answer_text, is_filled
from ml.oos import in_words, points_by_setting
from training.selectors import operating_point_at_setting


@console_page()
@require_http_methods(["GET", "POST"])
def bot_settings(request, bot_id: int):
    bot = bot_for(request, bot_id)
    tenant = request.console.tenant
    intents = bot_intents(tenant=tenant, bot=bot)
    tokens = resolution_tokens(tenant=tenant, bot=bot)
    if request.method == "POST":
        form = BotSettingsForm(request.POST, intents=intents, tokens=tokens)
        if form.is_valid():
            try:
                bot_services.update_bot(bot=bot, name=form.cleaned_data["name"], greeting=form.cleaned_data["greeting"],
                                        allowed_origins=form.cleaned_data["allowed_origins"],
                                        settings=form.bot_settings())
            except DomainError as rejected:
                if rejected.code == "bot_name_taken":
                    form.add_error("name", rejected.message)
                else:
                    form.add_settings_errors(rejected.details.get("settings") or {})
                bot.refresh_from_db()
            else:
                messages.success(request, "Settings saved. The widget uses them from the next message on.")
                return redirect("console:bot-settings", bot.pk)
    else:
        canned = bot.settings.get("canned_answers", {})
        form = BotSettingsForm(initial=BotSettingsForm.initial_for(bot, tokens), intents=intents, tokens=tokens)
        form.set_canned_initial(canned, canned_answer_drafts(
            tenant=tenant, bot=bot, intents=[intent for intent in intents if not canned.get(intent)]))
    version = bot.active_version
    curve = (version.metrics or {}).get("operating_curve") or [] if version is not None else []
    current = operating_point_at_setting(bot, version) if version is not None else None
    words_by_setting = _words_by_setting(curve)
    return console_render(request, "console/bots/settings.html", {
        "bot": bot, "section": "settings", "form": form, "active_version": version,
        "unfilled": [count for count in tokens if not is_filled(count.token, bot.settings.get("placeholders") or {})],
        "curve_svg": charts.operating_curve_chart(curve, current=current),
        "operating_point": current,
        "words_by_setting": words_by_setting,
        "every_setting_alike": len(set(words_by_setting.values())) == 1,
    }, status=400 if form.is_bound else 200)


def _words_by_setting(curve: list[dict]) -> dict[str, str]:
    """What each position of the "answer more ↔ hand off more" control does, for the page to say as it moves."""
    return {setting: in_words(point) for setting, point in points_by_setting(curve).items()}


@console_page()
@require_POST
def canned_preview(request, bot_id: int):
    """A canned answer as customers will read it (placeholders filled, sentences holding an unfilled one left out,
    or not sent at all): a fragment the settings page shows."""
    bot_for(request, bot_id)
    form = CannedPreviewForm(request.POST)
    if not form.is_valid():
        return render(request, "console/bots/canned_preview.html", {"errors": form.errors}, status=400)
    written = answer_text(form.cleaned_data["text"], form.cleaned_data["placeholders"])
    return render(request, "console/bots/canned_preview.html", {"written": written})
