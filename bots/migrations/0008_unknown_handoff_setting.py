"""Bots' settings trade `target_precision` (a confidence threshold chosen at training) for `unknown_handoff`, the
operating point on the active version's curve that serving reads at each answer."""

from django.db import migrations

DEFAULT_UNKNOWN_HANDOFF = 0.8  # bots.ml.oos.DEFAULT_UNKNOWN_HANDOFF when this migration was written


def to_unknown_handoff(apps, schema_editor):
    Bot = apps.get_model("bots", "Bot")
    for bot in Bot.objects.all().only("pk", "settings").iterator():
        settings = dict(bot.settings or {})
        if "target_precision" not in settings and "unknown_handoff" in settings:
            continue
        settings.pop("target_precision", None)
        settings.setdefault("unknown_handoff", DEFAULT_UNKNOWN_HANDOFF)
        Bot.objects.filter(pk=bot.pk).update(settings=settings)


def to_target_precision(apps, schema_editor):
    Bot = apps.get_model("bots", "Bot")
    for bot in Bot.objects.all().only("pk", "settings").iterator():
        settings = dict(bot.settings or {})
        settings.pop("unknown_handoff", None)
        settings.setdefault("target_precision", 0.95)
        Bot.objects.filter(pk=bot.pk).update(settings=settings)


class Migration(migrations.Migration):
    dependencies = [("bots", "0007_answer_due_and_one_reply")]
    operations = [migrations.RunPython(to_unknown_handoff, to_target_precision)]
