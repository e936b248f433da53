"""Browser tests: Playwright (sync API) drives Debian's chromium against pytest-django's live server.

Fixtures:

- ``browser`` (module scope): one headless ``/usr/bin/chromium`` per test module (Debian package ``chromium``;
  never ``playwright install``). Missing or failing to launch: the tests skip on a bare machine and fail when
  REQUIRE_SERVICES=1.
- ``page``: a fresh browser context (own cookies) and page. Every request to a host other than 127.0.0.1 or
  localhost is aborted; such a request, a console error or an uncaught page error fails the test, listed in the
  failure message. A console error the test expects (the "Failed to load resource" of a 404 it asserts) is let
  through with ``browser_log.allow_console_error(...)``.
- ``demo_server``: the live server with the demo clinic loaded (``seed_demo``) and scanned (its alerts exist).
- ``other_clinic_therapist``: a therapist of a second clinic, who must see nothing of the demo clinic.

Helpers: ``login(page, base_url, email, password)`` through the admin login form; ``screenshot(page, name)``
writes a full-page PNG to docs/screenshots/<name>.png.

Every test in this folder gets the ``browser`` marker (``pytest -m "not browser"`` leaves them out).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.db.models import Model
from django.urls import reverse

from assessments.models import Alert
from assessments.scanning import scan_patients
from clinic.celery import app as celery_app
from patients.management.commands.seed_demo import DEMO_CLINIC, DEMO_PASSWORD
from patients.models import Clinic, Patient, Therapist
from patients.services import clinic_create, therapist_create
from tests.browser.portal_support import portal_stack, portal_worker  # noqa: F401 (fixtures of the portal tests)
from tests.conftest import skip_or_fail

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Response, Route, WebError, WebSocketRoute
    from pytest_django.live_server_helper import LiveServer

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "docs" / "screenshots"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
# Waits fail after 10 s rather than Playwright's 30: every page here is served by the live server in this process.
TIMEOUT_MS = 10_000

# The demo clinic's staff (patients/management/commands/seed_demo.py), all with DEMO_PASSWORD.
DEMO_THERAPIST = "jane.roe@demo.clinic"  # Maria, Tom, Aisha and Peter on her caseload
DEMO_COLLEAGUE = "sam.lee@demo.clinic"  # Lena, Omar and Grace
DEMO_CLINIC_ADMIN = "admin@demo.clinic"
OTHER_CLINIC_PASSWORD = "hilltop-stairs-and-rails-2026"

ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A conftest's collection hook sees the items of the whole session: mark only this folder's.
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


# --- the browser ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian chromium, shared by the tests of one module (launching takes about a second).

    Module scope, not session: while Playwright runs, its event loop counts as running in the test thread (see
    below), which must not leak into the rest of the suite.
    """
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} is missing (Debian package chromium: apt-get install chromium)")
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed (pip install -r requirements-dev.txt)")

    # Playwright's sync API runs an asyncio event loop in the test's own thread (the protocol is pumped by a
    # greenlet of that thread), so from the first Playwright call until it stops, asyncio reports a running loop
    # there. Django then refuses every ORM call of the test thread (fixtures, test bodies, pytest-django's flush)
    # with SynchronousOnlyOperation, although nothing here is async: each ORM call is a plain blocking call made
    # between two Playwright calls, never inside a coroutine. The live server's threads have no loop and are
    # unaffected. Set for as long as Playwright runs and put back after, so the rest of the suite keeps the check.
    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    playwright = sync_playwright().start()
    try:
        try:
            launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        except Error as exc:
            skip_or_fail(f"{CHROMIUM} failed to launch: {exc.message.strip().splitlines()[0]}")
        yield launched
        launched.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


@dataclass
class BrowserLog:
    """What a page did that fails its test: outside requests (aborted), console errors, uncaught errors."""

    outside_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    allowed: list[tuple[re.Pattern[str], str | None]] = field(default_factory=list)
    reported: int = 0  # problems already reported (by the call-phase check)

    def allow_console_error(self, pattern: str, *, url: str | None = None) -> None:
        """Let console errors whose text matches ``pattern`` (searched) through, only those logged for ``url``
        when given, e.g. ``allow_console_error(r"status of 404", url=page_url)`` for a 404 the test asserts."""
        self.allowed.append((re.compile(pattern), url))

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = str(message.location.get("url") or "")
        if any(p.search(message.text) and (u is None or u == url) for p, u in self.allowed):
            return
        self.console_errors.append(f"{message.text} ({url or 'no url'})")

    def on_page_error(self, error: WebError) -> None:
        self.page_errors.append(error.error.stack or error.error.message)

    def problems(self) -> list[str]:
        return [
            *(f"outside request (aborted): {r}" for r in self.outside_requests),
            *(f"console error: {e}" for e in self.console_errors),
            *(f"page error: {e}" for e in self.page_errors),
        ]

    def summary(self, problems: list[str]) -> str:
        return "the browser reported:\n" + "\n".join(f"  - {p}" for p in problems)

    def check(self) -> None:
        """Fail on the problems not reported yet."""
        problems = self.problems()[self.reported :]
        self.reported += len(problems)
        if problems:
            pytest.fail(self.summary(problems), pytrace=False)


BROWSER_LOG = pytest.StashKey[BrowserLog]()


@pytest.fixture
def browser_log(request: pytest.FixtureRequest) -> BrowserLog:
    """The log the ``page`` fixture fills: ask for it to allow an expected console error."""
    log = BrowserLog()
    request.node.stash[BROWSER_LOG] = log
    return log


def _block_outside(log: BrowserLog) -> Callable[[Route], None]:
    def handle(route: Route) -> None:
        request = route.request
        parts = urlsplit(request.url)
        if parts.scheme in {"data", "blob", "about"} or parts.hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            log.outside_requests.append(f"{request.method} {request.url} ({request.resource_type})")
            route.abort("blockedbyclient")

    return handle


def _block_outside_websockets(log: BrowserLog) -> Callable[[WebSocketRoute], None]:
    def handle(ws: WebSocketRoute) -> None:
        if urlsplit(ws.url).hostname in LOCAL_HOSTS:
            ws.connect_to_server()
        else:
            log.outside_requests.append(f"WEBSOCKET {ws.url}")
            ws.close()

    return handle


@pytest.fixture
def page(browser: Browser, browser_log: BrowserLog) -> Iterator[Page]:
    """A new page in a new context; outside requests, console errors and page errors fail the test."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 800},
        locale="en-US",
        service_workers="block",  # every request goes through the route below
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.route("**/*", _block_outside(browser_log))
    context.route_web_socket(re.compile(".*"), _block_outside_websockets(browser_log))
    # On the context, not the page: popups and new tabs are covered too.
    context.on("console", browser_log.on_console)
    context.on("weberror", browser_log.on_page_error)
    try:
        yield context.new_page()
    finally:
        context.close()
    # Anything the call-phase check (pytest_runtest_call below) has not reported yet, e.g. when the test failed.
    browser_log.check()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Check the browser log right after the test body, so that a problem fails the test itself (not only its
    teardown). When the test body failed on its own, its error stands and the log is added to the report."""
    log = item.stash.get(BROWSER_LOG, None)
    try:
        result = yield
    except BaseException:
        if log is not None and (problems := log.problems()[log.reported :]):
            log.reported += len(problems)
            item.add_report_section("call", "browser", log.summary(problems))
        raise
    if log is not None:
        log.check()
    return result


# --- the server and its data ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _memory_broker() -> Iterator[None]:
    """Tasks published during a browser test go to an in-memory broker, not the configured one.

    The demo scan enqueues its alert emails and R-11 follow-ups on commit (the tests are transactional, so commits
    happen), and admin actions may enqueue scans. No worker runs here; the developer's var/broker queue or CI's
    Redis must not collect them. ``broker_write_url``, because Celery reads CELERY_BROKER_URL from the environment
    before ``broker_url``; the app's pools are dropped so the next publish opens the new broker (as in
    tests/integration/conftest.py).
    """
    conf = celery_app.conf
    saved = {key: conf.get(key) for key in ("broker_write_url", "broker_transport_options")}

    def reset_pools() -> None:
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    conf.update(broker_write_url="memory://localhost//", broker_transport_options={})
    reset_pools()
    try:
        yield
    finally:
        conf.update(saved)
        reset_pools()


@dataclass(frozen=True)
class DemoClinic:
    """The demo clinic as the live server serves it."""

    url: str  # the live server, e.g. http://localhost:41234 (no trailing slash)
    clinic: Clinic
    patients: dict[str, Patient]  # by first name: Maria, Tom, Aisha, Peter (Jane Roe's), Lena, Omar, Grace (Sam Lee's)
    alerts: dict[str, Alert]  # by the patient's first name, e.g. "Omar" (R-01, urgent), "Tom" (R-04, right thigh)
    password: str = DEMO_PASSWORD  # of every demo login (DEMO_THERAPIST, DEMO_COLLEAGUE, DEMO_CLINIC_ADMIN)

    def change_url(self, obj: Model) -> str:
        """The absolute URL of the admin change page of ``obj``."""
        opts = obj._meta
        return self.url + reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


@pytest.fixture
def demo_server(live_server: LiveServer, transactional_db: None) -> DemoClinic:
    """The live server (static files included) with the demo clinic loaded and scanned, as ``make run`` has it.

    Loaded for each test: pytest-django's live server is session-scoped but its data lives in the database, and a
    live-server test must be transactional (the server's threads see only committed rows), so pytest-django
    empties the database after every test. Loading and scanning take about half a second.
    """
    call_command("seed_demo", quiet_logins=True, stdout=StringIO())
    clinic = Clinic.objects.get(name=DEMO_CLINIC)
    patients = {p.first_name: p for p in Patient.objects.filter(clinic=clinic)}
    report = scan_patients([p.pk for p in patients.values()])
    assert report.failed == [], f"the demo scan failed for patients {report.failed}"
    alerts = {a.patient.first_name: a for a in Alert.objects.filter(patient__clinic=clinic).select_related("patient")}
    assert alerts, "the demo scan raised no alerts"
    return DemoClinic(url=live_server.url, clinic=clinic, patients=patients, alerts=alerts)


@dataclass(frozen=True)
class StaffLogin:
    email: str
    password: str
    therapist: Therapist


@pytest.fixture
def other_clinic_therapist(transactional_db: None) -> StaffLogin:
    """A therapist of a second clinic (Hilltop Physio), made as ``create_therapist`` makes them; committed, so the
    live server sees them."""
    clinic = clinic_create(name="Hilltop Physio", timezone_name="America/New_York")
    email = "olga.out@hilltop.example"
    therapist = therapist_create(
        clinic=clinic, email=email, display_name="Olga Out, PT", password=OTHER_CLINIC_PASSWORD
    )
    return StaffLogin(email=email, password=OTHER_CLINIC_PASSWORD, therapist=therapist)


# --- helpers --------------------------------------------------------------------------------------------------


def login(page: Page, base_url: str, email: str, password: str) -> None:
    """Log in through the admin login form; fails with the form's error when the login is refused."""
    page.goto(f"{base_url}/admin/login/")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(password)

    def is_login_post(response: Response) -> bool:
        return response.request.method == "POST" and urlsplit(response.url).path == "/admin/login/"

    with page.expect_response(is_login_post) as answer:
        page.locator("#login-form [type=submit]").click()
    response = answer.value
    if response.status != 302:  # the form again (wrong password), or a lockout (429)
        page.wait_for_load_state()
        note = page.locator(".errornote, .errorlist")
        reason = note.first.inner_text().strip() if note.count() else f"status {response.status}"
        raise AssertionError(f"admin login of {email} refused: {reason}")
    page.wait_for_url(lambda url: urlsplit(url).path != "/admin/login/")
    page.wait_for_load_state()


def screenshot(page: Page, name: str, *, folder: Path = SCREENSHOTS) -> Path:
    """Write a full-page PNG of ``page`` to docs/screenshots/<name>.png (or ``folder``) and return its path."""
    if not re.fullmatch(r"[\w.-]+", name) or name.startswith("."):
        raise ValueError(f"screenshot name {name!r}: letters, digits, '-', '_' and '.' only")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path
