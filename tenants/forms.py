from django import forms


class SignUpForm(forms.Form):
    tenant_name = forms.CharField(label="Company name", max_length=120)
    display_name = forms.CharField(label="Your name", max_length=150, required=False)
    email = forms.EmailField(label="Work email")
    password = forms.CharField(label="Password", widget=forms.PasswordInput, min_length=8, max_length=128)
