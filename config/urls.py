from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from console.account_forms import StaffSignInForm
from demo import views as demo_views
from widget import views as widget_views

handler404 = "config.api_errors.json_not_found"
admin.site.login_form = StaffSignInForm

# /healthz and /readyz are answered by config.health.HealthProbeMiddleware, ahead of the host check and HTTPS.
urlpatterns = [
    # The console is the front door (its sign-in page for someone signed out).
    path("", RedirectView.as_view(pattern_name="console:dashboard"), name="home"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI's start-up script from a URL of its own (?script): the CSP allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("console/", include("console.urls")),
    path("widget.js", widget_views.widget_js, name="widget-js"),
    path("demo/", demo_views.demo_page, name="demo"),
    path("demo/help/", demo_views.demo_page, {"template": "demo/help.html"}, name="demo-help"),
]
