from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from bots.api.nested import BotChildViewSet
from core.openapi import errors
from tenants.models import MANAGER_ROLES
from training import services as training
from training.models import ModelVersion, TrainingRun
from training.selectors import operating_point_at_setting


class TrainingRunSerializer(serializers.ModelSerializer):
    version_id = serializers.IntegerField(source="version.id", read_only=True, default=None, allow_null=True)

    class Meta:
        model = TrainingRun
        fields = ["id", "number", "status", "stage", "epoch", "epochs", "percent", "eta_seconds", "error",
                  "cancel_requested", "ticket_count", "log", "created_at", "started_at", "finished_at", "version_id"]
        read_only_fields = fields


class OperatingPointSerializer(serializers.Serializer):
    """Answering when the version's out-of-scope score reaches `cut`: known questions measured on the version's
    held-out tickets, unknown ones on the tickets of a quarter of the intents left out of a probe trained the same
    way."""

    cut = serializers.FloatField(help_text="The score below which the bot does not answer on its own.")
    answered = serializers.FloatField(help_text="Share of questions it knows that it answers.")
    answered_right = serializers.FloatField(help_text="Share of questions it knows answered with the right intent.")
    precision = serializers.FloatField(allow_null=True, help_text="Share of its answers that are right.")
    unknown_handed_off = serializers.FloatField(
        allow_null=True, help_text="Share of questions it doesn't know (out of scope) handed to a person.")


class BotOperatingPointSerializer(OperatingPointSerializer):
    unknown_handoff = serializers.FloatField(help_text="The bot's setting this point was picked for.")
    in_words = serializers.CharField()
    unknown_basis = serializers.CharField(
        allow_null=True, help_text="How many topics the figures for unknown questions were measured on, and so how "
                                   "far one topic moves them; null for a version from before this was recorded.")


class ModelVersionSerializer(serializers.ModelSerializer):
    is_active = serializers.SerializerMethodField()
    operating_curve = serializers.SerializerMethodField()
    operating_point = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = ["id", "number", "mode", "accuracy", "macro_f1", "coverage", "threshold", "operating_curve",
                  "operating_point", "metrics", "created_at", "activated_at", "pruned_at", "is_active"]
        read_only_fields = fields

    def get_is_active(self, version) -> bool:
        return version.bot.active_version_id == version.pk

    @extend_schema_field(OperatingPointSerializer(many=True))
    def get_operating_curve(self, version) -> list[dict]:
        """From answering the most to the least; empty for a version from before the curve."""
        return (version.metrics or {}).get("operating_curve") or []

    @extend_schema_field(BotOperatingPointSerializer(allow_null=True))
    def get_operating_point(self, version) -> dict | None:
        """Where the bot's `unknown_handoff` setting puts this version on its curve."""
        return operating_point_at_setting(version.bot, version)


@extend_schema(tags=["training"])
class TrainingRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BotChildViewSet):
    model = TrainingRun
    serializer_class = TrainingRunSerializer
    default_roles = MANAGER_ROLES

    def scope_queryset(self, queryset):
        return queryset.select_related("version").order_by("-number")

    @extend_schema(request=None, responses={202: TrainingRunSerializer, **errors(409)})
    def create(self, request, bot_pk=None):
        run = training.start_training_run(
            tenant=self.tenant, bot=self.bot, requested_by=self.tenant_context.user
        )
        return Response(TrainingRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: TrainingRunSerializer, **errors(409)})
    @action(detail=True, methods=["post"])
    def cancel(self, request, bot_pk=None, pk=None):
        self.get_object()
        return Response(TrainingRunSerializer(training.cancel_training_run(tenant=self.tenant, run_id=pk)).data)


@extend_schema(tags=["training"])
class ModelVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BotChildViewSet):
    model = ModelVersion
    serializer_class = ModelVersionSerializer
    default_roles = MANAGER_ROLES

    def scope_queryset(self, queryset):
        return queryset.select_related("bot").order_by("-number")

    @extend_schema(request=None, responses={200: ModelVersionSerializer, **errors(409)})
    @action(detail=True, methods=["post"])
    def activate(self, request, bot_pk=None, pk=None):
        self.get_object()
        version = training.activate_version(tenant=self.tenant, bot=self.bot, version_id=pk)
        version.bot.refresh_from_db()
        return Response(ModelVersionSerializer(version).data)

    @extend_schema(request=None, responses={200: ModelVersionSerializer, **errors(409)})
    @action(detail=False, methods=["post"])
    def rollback(self, request, bot_pk=None):
        version = training.rollback_version(tenant=self.tenant, bot=self.bot)
        version.bot.refresh_from_db()
        return Response(ModelVersionSerializer(version).data)
