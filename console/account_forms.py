"""Console forms: they parse and check what a person typed; the services decide and write."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone

from accounts.login_throttle import SignInThrottled, authenticate_throttled
from tenants.api.throttling import client_address
from tenants.models import Role


class SignUpForm(forms.Form):
    tenant_name = forms.CharField(label="Company name", max_length=120)
    display_name = forms.CharField(label="Your name", max_length=150, required=False)
    email = forms.EmailField(label="Work email")
    password = forms.CharField(label="Password", widget=forms.PasswordInput, min_length=8, max_length=128)


class ThrottledSignIn:
    """Django's sign-in checks, the password tried only while the email and the client's address have attempts
    left (accounts.login_throttle); a refusal is a form error, kept in `refusal` for the page's status."""

    refusal: SignInThrottled | None = None

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            try:
                self.user_cache = authenticate_throttled(request=self.request, username=username, password=password,
                                                         address=client_address(self.request))
            except SignInThrottled as refused:
                self.refusal = refused
                raise forms.ValidationError(refused.message, code="throttled") from refused
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class SignInForm(ThrottledSignIn, AuthenticationForm):
    """Members sign in with the email they signed up or were invited with (it is their username)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Email"
        self.fields["username"].widget.attrs.update({"autocomplete": "email", "inputmode": "email"})


class StaffSignInForm(ThrottledSignIn, AdminAuthenticationForm):
    """The Django admin's sign-in, counted in the same buckets: staff accounts are worth the most guesses."""


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email")
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.AGENT)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)


class AcceptInvitationForm(forms.Form):
    """For someone without an account yet; a signed-in person accepts with one button."""

    display_name = forms.CharField(label="Your name", max_length=150, required=False)
    password = forms.CharField(label="Choose a password", widget=forms.PasswordInput, min_length=8, max_length=128)


class ApiKeyForm(forms.Form):
    name = forms.CharField(label="Name", max_length=80, help_text="What uses this key, e.g. “Helpdesk sync”.")
    expires_at = forms.DateTimeField(
        label="Expires", required=False, help_text="Optional. Leave empty for a key that does not expire.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )

    def clean_expires_at(self):
        expires_at = self.cleaned_data.get("expires_at")
        if expires_at is not None and expires_at <= timezone.now():
            raise forms.ValidationError("The expiry must be in the future.")
        return expires_at
