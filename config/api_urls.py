"""REST API v1: every route below resolves the tenant from the API key or the session."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from accounts.api import views as account_views
from billing.api import views as billing
from bots.api.views import BotViewSet
from conversations.api.views import BotAnswerView
from conversations.api.visitors import DataRightsRequestViewSet, VisitorExportView, VisitorView
from knowledge.api.views import ImportViewSet, TicketViewSet
from training.api.learning import PendingExamplesView
from training.api.views import ModelVersionViewSet, TrainingRunViewSet
from webhooks.api.views import WebhookEndpointViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("members", account_views.MembershipViewSet, basename="membership")
router.register("invitations", account_views.InvitationViewSet, basename="invitation")
router.register("api-keys", account_views.ApiKeyViewSet, basename="api-key")
router.register("webhooks", WebhookEndpointViewSet, basename="webhook-endpoint")
router.register("bots", BotViewSet, basename="bot")
router.register(r"bots/(?P<bot_pk>[^/.]+)/imports", ImportViewSet, basename="import")
router.register(r"bots/(?P<bot_pk>[^/.]+)/tickets", TicketViewSet, basename="ticket")
router.register(r"bots/(?P<bot_pk>[^/.]+)/training-runs", TrainingRunViewSet, basename="training-run")
router.register(r"bots/(?P<bot_pk>[^/.]+)/versions", ModelVersionViewSet, basename="model-version")
router.register("subscription/changes", billing.SubscriptionChangeViewSet, basename="subscription-change")
router.register("resolutions", billing.AutomatedResolutionViewSet, basename="automated-resolution")
router.register("quota-warnings", billing.QuotaWarningViewSet, basename="quota-warning")

urlpatterns = [
    path("signup/", account_views.SignUpView.as_view(), name="signup"),
    path("tenants/me/", account_views.TenantMeView.as_view(), name="tenant-me"),
    path("invitations/accept/", account_views.AcceptInvitationView.as_view(), name="invitation-accept"),
    path("bots/<int:pk>/answer/", BotAnswerView.as_view(), name="bot-answer"),
    path("bots/<int:bot_pk>/pending-examples/", PendingExamplesView.as_view(), name="bot-pending-examples"),
    path("visitors/<str:visitor_id>/", VisitorView.as_view(), name="visitor"),
    path("visitors/<str:visitor_id>/export/", VisitorExportView.as_view(), name="visitor-export"),
    path("data-rights-requests/", DataRightsRequestViewSet.as_view({"get": "list"}), name="data-rights-requests"),
    path("plans/", billing.PlanListView.as_view(), name="plans"),
    path("subscription/", billing.SubscriptionView.as_view(), name="subscription"),
    path("subscription/plan/", billing.ChangePlanView.as_view(), name="subscription-plan"),
    path("subscription/cancel/", billing.CancelSubscriptionView.as_view(), name="subscription-cancel"),
    path("usage/", billing.UsageView.as_view(), name="usage"),
    path("usage/invoice/", billing.InvoiceView.as_view(), name="usage-invoice"),
    *router.urls,
]
