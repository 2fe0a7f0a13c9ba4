"""Closing the account (owners only): the company and everything in it deleted for good, after its name is typed."""

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from console.views import OWNER_ONLY, console_page
from tenants.services.tenant_deletion import delete_tenant


class CloseAccountForm(forms.Form):
    company_name = forms.CharField(label="Company name", max_length=120, error_messages={
        "required": "Type the company name to confirm: nothing was deleted."})

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant

    def clean_company_name(self) -> str:
        typed = self.cleaned_data["company_name"].strip()
        if typed != self.tenant.name:
            raise forms.ValidationError(f"That is not “{self.tenant.name}”: nothing was deleted.")
        return typed


@console_page(roles=OWNER_ONLY)
@require_POST
def close_account(request):
    tenant = request.console.tenant
    form = CloseAccountForm(request.POST, tenant=tenant)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["company_name"]))
        return redirect("console:plan")
    deleted = delete_tenant(tenant=tenant)
    # A member of another team carries on there: the session's choice of team falls back to their oldest one.
    account_gone = request.user.pk in deleted.deleted_user_ids
    if account_gone:
        logout(request)
    messages.success(request, f"{tenant.name} was deleted with its bots, tickets, conversations and members.")
    return redirect("console:login" if account_gone else "console:dashboard")
