"""Console pages for the tenant: sign-up, the dashboard, team, API keys, plan & usage; and the console's access
rules.

Every console page goes through `console_page`: it resolves the member's tenant once, answers 403 for a
role that may not see the page and renders 404 as a console page (another tenant's ids look missing).
"""

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import TypeVar

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import services as accounts
from billing.invoice_export import invoice_download
from billing.models import Meter
from billing.plans import public_plans, utc_day
from billing.selectors import (
    automated_resolutions,
    invoice,
    plan_standing,
    quota_warnings,
    subscription_changes,
    subscription_for,
    usage_by_day,
)
from billing.services import subscriptions
from billing.services.quota_warnings import warning_message as quota_warning_message
from billing.usage_charts import daily_usage_chart
from console.account_forms import AcceptInvitationForm, ApiKeyForm, InvitationForm, RoleForm, SignInForm, SignUpForm
from conversations.services import resolutions
from core.errors import DomainError
from tenants.access import TenantContext, membership_for_session
from tenants.models import ALL_ROLES, MANAGER_ROLES, OWNER_ONLY, ApiKey, Invitation, Membership, Role
from tenants.services import api_keys

T = TypeVar("T")

SHOWN_ONCE_KEY = "console_shown_once"
# The team's pages: one entry in the narrow navigation, whose row of tabs shows on each of them.
TEAM_SECTIONS = ("team", "api-keys", "webhooks", "plan", "privacy")


def console_page(roles=MANAGER_ROLES):
    """Decorate a console view: signed in, a member of a tenant, with one of `roles`.

    Sets `request.console` (a TenantContext). A missing object (or another tenant's) renders the
    console's 404 page; a role without access renders its 403 page.
    """

    def decorate(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            membership = membership_for_session(request.user, request.session)
            if membership is None:
                return render(request, "console/no_tenant.html", status=403)
            request.console = TenantContext(tenant=membership.tenant, role=Role(membership.role), user=request.user)
            try:
                if request.console.role not in roles:
                    raise PermissionDenied
                return view(request, *args, **kwargs)
            except Http404:
                return console_render(request, "console/404.html", status=404)
            except PermissionDenied:
                return console_render(request, "console/403.html", status=403)

        return wrapper

    return decorate


def console_render(request, template: str, context: dict | None = None, *, status: int = 200):
    """Render a console page with what the layout needs: the member's tenant, role and bots."""
    from bots.models import Bot

    console = request.console
    nav_bots = list(Bot.objects.for_tenant(console.tenant).order_by("created_at").only("id", "name"))
    return render(request, template, {"console": console, "nav_bots": nav_bots, "team_sections": TEAM_SECTIONS,
                                      **(context or {})}, status=status)


def flash_outcome(request, action: Callable[[], T], success: Callable[[T], str]) -> None:
    """Run a console button's service call: its refusal, or its success, becomes the next page's message."""
    try:
        result = action()
    except DomainError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, success(result))


def remember_shown_once(request, **secret) -> None:
    """Keep a secret for the next page only (a new API key, an invitation link), then forget it."""
    request.session[SHOWN_ONCE_KEY] = secret


def pop_shown_once(request) -> dict | None:
    return request.session.pop(SHOWN_ONCE_KEY, None)


# Sign-up and invitations ------------------------------------------------------------------------------------


class SignInView(auth_views.LoginView):
    """Django's sign-in page; a sign-in refused for too many attempts answers 429 with Retry-After."""

    template_name = "console/login.html"
    authentication_form = SignInForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.refusal is not None:
            response.status_code = form.refusal.http_status
            for header, value in form.refusal.headers.items():
                response[header] = value
        return response


@require_http_methods(["GET", "POST"])
def signup(request):
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = accounts.sign_up(**form.cleaned_data)
        except DomainError as error:
            field = "email" if error.code == "email_taken" else "password"
            form.add_error(field, error.message)
        else:
            login(request, result.user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("console:dashboard")
    return render(request, "console/signup.html", {"form": form})


@require_http_methods(["GET", "POST"])
def accept_invitation(request, token: str):
    """The link an invitee gets: one button when signed in, otherwise name and password."""
    signed_in = request.user.is_authenticated
    form = AcceptInvitationForm(request.POST or None) if not signed_in else None
    error = None
    if request.method == "POST" and (signed_in or form.is_valid()):
        fields = {"user": request.user} if signed_in else form.cleaned_data
        try:
            membership = accounts.accept_invitation(token=token, **fields)
        except DomainError as rejected:
            error = rejected.message
            if form is not None and rejected.code == "weak_password":
                form.add_error("password", rejected.message)
                error = None
        else:
            if not signed_in:
                login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            request.session["tenant_id"] = membership.tenant_id
            messages.success(request, f"Welcome to {membership.tenant.name}.")
            return redirect("console:dashboard")
    return render(request, "console/accept_invitation.html", {"form": form, "error": error})


# Dashboard --------------------------------------------------------------------------------------------------


@console_page(roles=ALL_ROLES)
@require_GET
def dashboard(request):
    """Managers: the onboarding checklists and a bot's analytics over a period; agents: the conversations."""
    from console.analytics import dashboard_context

    if not request.console.is_manager:
        return redirect("console:conversations")
    context = dashboard_context(tenant=request.console.tenant, params=request.GET)
    context["subscription"] = subscription_for(request.console.tenant)
    return console_render(request, "console/dashboard.html", context,
                          status=400 if context["analytics_form"].errors else 200)


# Team -------------------------------------------------------------------------------------------------------


def _team_page(request, *, invite_form=None, status=200):
    tenant = request.console.tenant
    members = Membership.objects.for_tenant(tenant).select_related("user").order_by("created_at")
    invitations = [i for i in Invitation.objects.for_tenant(tenant).order_by("-created_at") if i.is_pending]
    return console_render(request, "console/team.html", {
        "section": "team",
        "members": [(member, RoleForm(initial={"role": member.role}, prefix=f"m{member.pk}")) for member in members],
        "invitations": invitations,
        "invite_form": invite_form or InvitationForm(),
        "can_manage_team": request.console.role == Role.OWNER,
        "issued": pop_shown_once(request),
    }, status=status)


@console_page()
def team(request):
    return _team_page(request)


@console_page(roles=OWNER_ONLY)
@require_POST
def invite_member(request):
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            issued = accounts.invite_member(tenant=request.console.tenant, invited_by=request.user,
                                            **form.cleaned_data)
        except DomainError as error:
            form.add_error("email", error.message)
        else:
            link = request.build_absolute_uri(reverse("console:accept-invitation", args=[issued.token]))
            remember_shown_once(request, kind="invitation", email=issued.invitation.email, link=link)
            return redirect("console:team")
    return _team_page(request, invite_form=form, status=400)


@console_page(roles=OWNER_ONLY)
@require_POST
def change_member_role(request, membership_id: int):
    membership = get_object_or_404(Membership.objects.for_tenant(request.console.tenant), pk=membership_id)
    form = RoleForm(request.POST, prefix=f"m{membership.pk}")
    if not form.is_valid():
        messages.error(request, "Choose owner, admin or agent.")
        return redirect("console:team")
    role = Role(form.cleaned_data["role"])
    flash_outcome(
        request,
        lambda: accounts.change_member_role(tenant=request.console.tenant, membership_id=membership.pk, role=role),
        lambda _: f"{membership.user.email} is now {role.label}.",
    )
    return redirect("console:team")


@console_page(roles=OWNER_ONLY)
@require_POST
def remove_member(request, membership_id: int):
    membership = get_object_or_404(Membership.objects.for_tenant(request.console.tenant), pk=membership_id)
    flash_outcome(
        request,
        lambda: accounts.remove_member(tenant=request.console.tenant, membership_id=membership.pk),
        lambda _: f"{membership.user.email} was removed from the team.",
    )
    return redirect("console:team")


@console_page(roles=OWNER_ONLY)
@require_POST
def revoke_invitation(request, invitation_id: int):
    invitation = get_object_or_404(Invitation.objects.for_tenant(request.console.tenant), pk=invitation_id,
                                   accepted_at=None)
    accounts.revoke_invitation(tenant=request.console.tenant, invitation_id=invitation.pk)
    messages.success(request, f"The invitation for {invitation.email} was revoked.")
    return redirect("console:team")


# API keys ---------------------------------------------------------------------------------------------------


def _api_keys_page(request, *, form=None, status=200):
    keys = ApiKey.objects.for_tenant(request.console.tenant).select_related("created_by").order_by("-created_at")
    return console_render(request, "console/api_keys.html", {
        "section": "api-keys", "keys": keys, "form": form or ApiKeyForm(), "issued": pop_shown_once(request),
    }, status=status)


@console_page()
def api_key_list(request):
    return _api_keys_page(request)


@console_page()
@require_POST
def create_api_key(request):
    form = ApiKeyForm(request.POST)
    if form.is_valid():
        issued = api_keys.create_api_key(tenant=request.console.tenant, created_by=request.user, **form.cleaned_data)
        remember_shown_once(request, kind="api_key", name=issued.api_key.name, key=issued.plain_key)
        return redirect("console:api-keys")
    return _api_keys_page(request, form=form, status=400)


@console_page()
@require_POST
def revoke_api_key(request, api_key_id: int):
    api_key = get_object_or_404(ApiKey.objects.for_tenant(request.console.tenant), pk=api_key_id)
    api_keys.revoke_api_key(tenant=request.console.tenant, api_key_id=api_key.pk)
    messages.success(request, f"The key “{api_key.name}” ({api_key.prefix}…) was revoked; it no longer works.")
    return redirect("console:api-keys")


# Plan & usage -----------------------------------------------------------------------------------------------

HISTORY_DAYS = 30
RESOLUTIONS_SHOWN = 50
CHANGES_SHOWN = 20
CHARTED_METERS = (Meter.ANSWERS, Meter.RESOLUTIONS, Meter.API_CALLS)


@console_page()
def plan_and_usage(request):
    tenant = request.console.tenant
    standing = plan_standing(tenant=tenant)
    today = utc_day(standing.now)
    days = usage_by_day(tenant=tenant, start=today - timedelta(days=HISTORY_DAYS - 1), end=today + timedelta(days=1))
    return console_render(request, "console/plan.html", {
        "section": "plan", "standing": standing, "plans": public_plans(),
        "charts": [(meter.label, daily_usage_chart(days, meter, meter.label)) for meter in CHARTED_METERS],
        "warnings": [quota_warning_message(w) for w in quota_warnings(tenant, since=standing.period_start)],
        "resolutions": automated_resolutions(tenant)[:RESOLUTIONS_SHOWN],
        "changes": subscription_changes(tenant)[:CHANGES_SHOWN],
        "is_owner": request.console.role == Role.OWNER,
    })


@console_page()
@require_POST
def change_plan(request):
    code = request.POST.get("plan", "")
    flash_outcome(
        request,
        lambda: subscriptions.change_plan(tenant=request.console.tenant, plan_code=code,
                                          actor=subscriptions.Actor(user=request.user)),
        lambda subscription: f"You are on {subscription.plan.name} now; its limits apply at once.",
    )
    return redirect("console:plan")


@console_page(roles=OWNER_ONLY)
@require_POST
def cancel_subscription(request):
    flash_outcome(
        request,
        lambda: subscriptions.cancel_subscription(tenant=request.console.tenant,
                                                  actor=subscriptions.Actor(user=request.user)),
        lambda subscription: f"Cancelled. The bots answer until {subscription.period_end:%Y-%m-%d %H:%M} UTC.",
    )
    return redirect("console:plan")


@console_page(roles=OWNER_ONLY)
@require_POST
def resolution_window(request):
    hours = request.POST.get("resolution_window_hours", "").strip()
    flash_outcome(
        request,
        lambda: resolutions.set_resolution_window(tenant=request.console.tenant,
                                                  hours=int(hours) if hours.isdigit() else -1),
        lambda tenant: f"A customer who does not come back within {tenant.resolution_window_hours} hours of the "
                       "bot's answer now counts as resolved.",
    )
    return redirect("console:plan")


@console_page()
def usage_export(request, export: str):
    """The current period's invoice line items as a CSV or JSON file."""
    tenant = request.console.tenant
    standing = plan_standing(tenant=tenant)
    period = invoice(tenant=tenant, start=utc_day(standing.period_start), end=utc_day(standing.period_end),
                     subscription=standing.subscription)
    return invoice_download(period, export)
