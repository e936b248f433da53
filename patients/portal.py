"""The patient's portal: a phone-first web app on the public portal API (/api/v1/), served at /portal/.

The views here serve only the app itself, never patient data: the one HTML shell for every history-API route
under /portal/, the service worker (which caches the shell for use without signal), and the web manifest. The
app's ES modules and CSS are static files (patients/static/portal/); its words come from Django's JavaScript
catalog at /portal/jsi18n/. docs/portal.md describes the screens, their API calls and how offline works.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

# The app's static files, cached by the service worker on install (with the shell, the catalog and the manifest).
PORTAL_ASSETS = (
    "portal/app.js",
    "portal/api.js",
    "portal/dom.js",
    "portal/forms.js",
    "portal/outbox.js",
    "portal/progress.js",
    "portal/portal.css",
    "portal/icon.svg",
    "vendor/chartjs/chart.umd.min.js",
)
SCOPE = "/portal/"


def _asset_urls() -> list[str]:
    return [static(name) for name in PORTAL_ASSETS]


def _assets_version() -> str:
    """A digest of the app's files: a new release gets a new cache, and the old one is dropped.

    Read once per process (the files change only with a release, which restarts it); with DEBUG on, at every
    request, so that an edited file reaches the developer's service worker.
    """
    if settings.DEBUG:
        return _digest_assets()
    return _released_assets_version()


@functools.cache
def _released_assets_version() -> str:
    return _digest_assets()


def _digest_assets() -> str:
    digest = hashlib.sha256()
    for name in PORTAL_ASSETS:
        found = finders.find(name)
        digest.update(name.encode())
        if isinstance(found, str):
            digest.update(Path(found).read_bytes())
    return digest.hexdigest()[:16]


@require_safe
@never_cache
def shell(request: HttpRequest, path: str = "") -> HttpResponse:
    """The app's HTML shell, the same for every route under /portal/ (the app routes with the history API)."""
    return render(request, "portal/index.html", {"scope": SCOPE})


@require_safe
@never_cache
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, scoped to /portal/: caches the app shell and the last-seen program for the gym."""
    context = {
        "version": _assets_version(),
        "shell": SCOPE,
        "assets": [SCOPE, reverse("portal-jsi18n"), reverse("portal-manifest"), *_asset_urls()],
    }
    response = render(request, "portal/sw.js", context, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = SCOPE
    return response


@require_safe
def manifest(request: HttpRequest) -> JsonResponse:
    """The web manifest: the portal installs as a phone app that opens on "Today"."""
    body = {
        "name": _("Clinic patient portal"),
        "short_name": _("My back"),
        "start_url": SCOPE,
        "scope": SCOPE,
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1d4f73",
        "icons": [{"src": static("portal/icon.svg"), "sizes": "any", "type": "image/svg+xml"}],
    }
    response = JsonResponse(body, content_type="application/manifest+json")
    response["Cache-Control"] = "no-cache"
    return response
