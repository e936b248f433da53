"""The patient's portal at /portal/ (patients/portal.py): catalog, service worker, manifest and app routes."""

from django.urls import path, re_path
from django.views.i18n import JavaScriptCatalog

from patients import portal

urlpatterns = [
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["patients"]), name="portal-jsi18n"),
    path("sw.js", portal.service_worker, name="portal-sw"),
    path("manifest.webmanifest", portal.manifest, name="portal-manifest"),
    path("", portal.shell, name="portal"),
    # Every other route is the app's own (history API): the same shell, which routes in the browser.
    re_path(r"^(?P<path>(?:[\w-]+/)*[\w-]*)$", portal.shell, name="portal-route"),
]
