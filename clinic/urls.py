"""Top-level URLs: the admin, the portal API and operations."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from assessments.health import health

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/v1/", include("clinic.api.urls")),
    path("portal/", include("patients.portal_urls")),
    path("health/", health, name="health"),
]
