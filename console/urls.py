from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from console import account_closure, conversations, views
from console import errors as console_errors
from console import privacy as console_privacy
from console import webhooks as console_webhooks
from console.agent import agent_view

app_name = "console"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", views.signup, name="signup"),
    path("invitations/<str:token>/", views.accept_invitation, name="accept-invitation"),
    path("team/", views.team, name="team"),
    path("team/invite/", views.invite_member, name="team-invite"),
    path("team/members/<int:membership_id>/role/", views.change_member_role, name="team-member-role"),
    path("team/members/<int:membership_id>/remove/", views.remove_member, name="team-member-remove"),
    path("team/invitations/<int:invitation_id>/revoke/", views.revoke_invitation, name="team-invitation-revoke"),
    path("api-keys/", views.api_key_list, name="api-keys"),
    path("api-keys/new/", views.create_api_key, name="api-key-create"),
    path("api-keys/<int:api_key_id>/revoke/", views.revoke_api_key, name="api-key-revoke"),
    path("plan/", views.plan_and_usage, name="plan"),
    path("plan/change/", views.change_plan, name="plan-change"),
    path("plan/cancel/", views.cancel_subscription, name="plan-cancel"),
    path("plan/resolution-window/", views.resolution_window, name="plan-resolution-window"),
    path("plan/close-account/", account_closure.close_account, name="close-account"),
    path("plan/usage.csv", views.usage_export, {"export": "csv"}, name="plan-usage-csv"),
    path("plan/usage.json", views.usage_export, {"export": "json"}, name="plan-usage-json"),
    path("webhooks/", console_webhooks.webhook_list, name="webhooks"),
    path("webhooks/new/", console_webhooks.create_webhook, name="webhook-create"),
    path("webhooks/<int:endpoint_id>/", console_webhooks.webhook_deliveries, name="webhook-deliveries"),
    path("webhooks/<int:endpoint_id>/test/", console_webhooks.send_webhook_test, name="webhook-test"),
    path("webhooks/<int:endpoint_id>/active/", console_webhooks.set_webhook_active, name="webhook-active"),
    path("webhooks/<int:endpoint_id>/delete/", console_webhooks.delete_webhook, name="webhook-delete"),
    path("privacy/", console_privacy.privacy, name="privacy"),
    path("privacy/export/", console_privacy.export_visitor, name="privacy-export"),
    path("privacy/erase/", console_privacy.erase_visitor, name="privacy-erase"),
    path("agent/", agent_view, name="agent"),
    path("conversations/", conversations.conversation_list, name="conversations"),
    path("conversations/export.csv", conversations.export_conversations, name="conversations-export"),
    path("conversations/<int:conversation_id>/", conversations.transcript_page, name="conversation"),
    path("conversations/<int:conversation_id>/transcript.csv", conversations.export_transcript,
         name="conversation-export"),
    path("bots/", include("console.bot_urls")),
    # Last: any other address ending in / is the console's 404 (without the slash, APPEND_SLASH redirects first).
    re_path(r"^(?P<unknown>.*/)$", console_errors.page_not_found, name="not-found"),
]
