"""POST /api/v1/bots/{id}/answer/: the bot's answer for a tenant's own systems (same policy, same record)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from billing.services import quotas
from bots.api.nested import bot_of_tenant
from bots.models import Bot
from conversations.rules import DECISION_ACTIONS, DECISION_RULES
from conversations.services import answering
from core.openapi import errors
from ml.answer_policy import ANSWER
from tenants.api.base import TenantAPIView


class AnswerInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=4000, trim_whitespace=True)
    conversation_id = serializers.IntegerField(required=False, min_value=1)
    visitor_id = serializers.CharField(required=False, max_length=64, allow_blank=True, default="")
    intent = serializers.CharField(required=False, max_length=100, allow_blank=True, default="",
                                   help_text="An intent the user picked from the quick replies of the last answer.")


class QuickReplySerializer(serializers.Serializer):
    label = serializers.CharField(help_text="The intent in words, for the button.")
    intent = serializers.CharField(help_text="Send it back as `intent` when the user picks this reply.")


class DecisionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=DECISION_ACTIONS)
    rule = serializers.ChoiceField(choices=DECISION_RULES, help_text="Why the bot replied as it did.")
    intent = serializers.CharField(allow_null=True)
    confidence = serializers.FloatField(allow_null=True)
    top_intents = serializers.ListField(
        child=serializers.ListField(), help_text="The likeliest intents, each [intent, probability].")
    ticket_ids = serializers.ListField(child=serializers.IntegerField())
    version_id = serializers.IntegerField(allow_null=True)
    model = serializers.CharField()


class AnswerOutputSerializer(serializers.Serializer):
    conversation_id = serializers.IntegerField()
    question_seq = serializers.IntegerField()
    answered = serializers.BooleanField(
        help_text="True only when the bot answered the question (action `answer`); false for a clarifying "
                  "question, a handoff, a notice, or no reply while a person has the conversation.")
    seq = serializers.IntegerField(allow_null=True, help_text="The reply's number in the conversation.")
    action = serializers.ChoiceField(
        choices=DECISION_ACTIONS, allow_null=True,
        help_text="answer; clarify (asks which intent was meant, with quick replies); handoff (to a person); "
                  "notice (waiting for a person); null: no reply, a person has the conversation.")
    text = serializers.CharField(allow_null=True)
    quick_replies = QuickReplySerializer(many=True)
    decision = DecisionSerializer(allow_null=True)


class BotAnswerView(TenantAPIView):
    model = Bot

    @extend_schema(tags=["answers"], request=AnswerInputSerializer,
                   responses={200: AnswerOutputSerializer, **errors(402)})
    def post(self, request, pk):
        bot = bot_of_tenant(self.tenant, pk)
        data = AnswerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        question, reply = answering.answer_api_question(
            tenant=self.tenant, bot=bot, text=data.validated_data["text"],
            conversation_id=data.validated_data.get("conversation_id"),
            visitor_id=data.validated_data["visitor_id"], chosen_intent=data.validated_data["intent"] or None,
        )
        decision = reply.decision if reply is not None else None
        answered = decision is not None and decision["action"] == ANSWER
        if decision is not None and decision["rule"] in quotas.REFUSAL_RULES:
            raise quotas.answer_refused_error(tenant=self.tenant, rule=decision["rule"], handoff={
                "conversation_id": question.conversation_id, "question_seq": question.seq, "handoff_seq": reply.seq})
        return Response(AnswerOutputSerializer({
            "conversation_id": question.conversation_id, "question_seq": question.seq, "answered": answered,
            "seq": reply.seq if reply else None, "action": decision["action"] if decision else None,
            "text": reply.text if reply else None, "quick_replies": reply.quick_replies if reply else [],
            "decision": decision,
        }).data)
