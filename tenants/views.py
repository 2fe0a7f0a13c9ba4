"""Console pages for the tenant: sign-up and the dashboard shell."""

from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from tenants.access import membership_for_session
from tenants.errors import DomainError
from tenants.forms import SignUpForm
from tenants.services import accounts


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


@login_required
def dashboard(request):
    membership = membership_for_session(request.user, request.session)
    if membership is None:
        return render(request, "console/no_tenant.html", status=403)
    from bots.models import Bot

    bots = Bot.objects.for_tenant(membership.tenant).order_by("created_at")
    return render(request, "console/dashboard.html", {"membership": membership, "bots": bots})
