"""The interactive API docs work offline: Swagger UI and Redoc come from this server's static files (no CDN).

The ``page`` fixture aborts, and fails the test on, any request to a host other than 127.0.0.1/localhost, and fails
it on any console error: a script, style sheet or font fetched from the internet shows up either way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tests.browser.conftest import screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Page, Request
    from pytest_django.live_server_helper import LiveServer

# Operations of API.md that both renderings must show, by their path.
PATHS = ("/api/v1/assessments/", "/api/v1/me/trends/", "/api/v1/alerts/{id}/resolve/")


def _record_requests(page: Page) -> list[str]:
    """The paths the page requested from the live server, in order."""
    paths: list[str] = []

    def on_request(request: Request) -> None:
        paths.append(urlsplit(request.url).path)

    page.on("request", on_request)
    return paths


def test_swagger_ui_renders_the_operations_from_local_files(page: Page, live_server: LiveServer) -> None:
    requested = _record_requests(page)

    page.goto(f"{live_server.url}/api/v1/docs/")

    for path in PATHS:
        # One block per operation, its path shown in the summary line.
        summary = page.locator(".opblock-summary-path", has_text=path).first
        summary.wait_for(state="visible")
    assert page.locator(".opblock-tag", has_text="assessments").first.is_visible()
    assert page.locator(".opblock-summary-description", has_text="Submit an entry").is_visible()
    # The bundle and the schema came from this server (static files of drf-spectacular-sidecar).
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in requested
    assert "/api/v1/schema/" in requested
    screenshot(page, "api-docs")


def test_redoc_renders_the_operations_from_local_files(page: Page, live_server: LiveServer) -> None:
    requested = _record_requests(page)

    page.goto(f"{live_server.url}/api/v1/redoc/")

    # One section per operation, headed by its summary, its method and path beside it.
    page.get_by_role("heading", name="Submit an entry").first.wait_for(state="visible")
    for path in PATHS:
        assert page.get_by_text(path, exact=True).first.is_visible(), path
    # The documented errors, e.g. the 404 of an object outside the caller's scope.
    assert page.get_by_text("outside the caller's scope").first.is_visible()
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in requested
    assert "/api/v1/schema/" in requested
    screenshot(page, "api-redoc")
