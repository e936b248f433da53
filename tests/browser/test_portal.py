"""The patient's portal at /portal/ on a phone (390x844, touch): every screen through the public API.

Invitation to first login, the program and what is due, a post-workout report (with an error put beside its
question, then a one-sided thigh ache) in the history, a red flag's urgent screen and the therapist's email,
a report made without signal that waits on the phone and is sent once when the network returns, a lockout in
words, and axe on every screen. Screenshots: docs/screenshots/portal-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest
from django.utils import timezone

from assessments.models import Entry
from patients.models import Patient
from tests.browser.axe import assert_accessible
from tests.browser.conftest import (
    TIMEOUT_MS,
    BrowserLog,
    DemoClinic,
    _block_outside,
    _block_outside_websockets,
    screenshot,
)
from tests.browser.portal_support import PortalStack, addressed_to, email_links, email_text

if TYPE_CHECKING:
    from django.test import Client
    from playwright.sync_api import Browser, BrowserContext, Page

PASSWORD = "tidal-Harbour-rope-2026"
DEMO_PATIENT = "grace.obi@example.com"  # quiet: symmetric soreness that eases with stretching
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "en-GB",
}


def _phone_context(browser: Browser, log: BrowserLog, *, service_workers: str = "block") -> BrowserContext:
    """A phone's context with the browser conftest's guards: outside requests and console errors fail the test."""
    context = browser.new_context(**PHONE, service_workers=service_workers)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    context.route("**/*", _block_outside(log))
    context.route_web_socket(re.compile(".*"), _block_outside_websockets(log))
    context.on("console", log.on_console)
    context.on("weberror", log.on_page_error)
    return context


@pytest.fixture
def phone(browser: Browser, browser_log: BrowserLog) -> Iterator[Page]:
    context = _phone_context(browser, browser_log)
    try:
        yield context.new_page()
    finally:
        context.close()
    browser_log.check()


# --- helpers ------------------------------------------------------------------------------------------------------


def shot(page: Page, name: str) -> None:
    """A full-page screenshot with the bottom bar at the end of the page: a capture taller than the screen would
    otherwise show the sticky bar across the middle."""
    page.evaluate("document.getElementById('nav').style.position = 'static'")
    screenshot(page, name)
    page.evaluate("document.getElementById('nav').style.position = ''")


def log_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/portal/")
    page.wait_for_url(re.compile(r"/portal/login/$"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", level=1, name=re.compile(r"^Hello, ")).wait_for()


def choose(page: Page, field: str, *values: str) -> None:
    """Answer a question of the form by tapping the labels of its choices (codes, or numbers on a scale)."""
    for value in values:
        control = page.locator(f'[data-field="{field}"] input[value="{value}"]')
        page.locator(f'label[for="{control.get_attribute("id")}"]').click()


def fill_post_workout(page: Page, **overrides: Any) -> None:
    """A quiet post-workout report: each answer tapped (or skipped when the override is None)."""
    answers: dict[str, Any] = {
        "session_completed": "full",
        "back_pain_now": "2",
        "back_pain_during_max": "3",
        "back_stiffness_now": "2",
        "stiffness_change": "same",
        "spine_check": "free",
        "neck_symptoms": "none",
        "thigh_symptoms": "none",
    }
    answers.update(overrides)
    for field, value in answers.items():
        if value is None:
            continue
        values = value if isinstance(value, tuple) else (value,)
        choose(page, field, *values)


def open_report(page: Page) -> None:
    page.get_by_role("navigation").get_by_role("link", name="Report").click()
    page.get_by_role("heading", level=1, name="Post-workout").wait_for()


# --- what Django serves -------------------------------------------------------------------------------------------


def test_shell_for_every_route_service_worker_manifest_and_catalog(client: Client) -> None:
    shell = client.get("/portal/")
    assert shell.status_code == 200
    assert "no-cache" in shell["Cache-Control"]
    for route in ("/portal/report/weekly/", "/portal/activate/", "/portal/progress/"):
        assert client.get(route, {"token": "x"}).content == shell.content
    assert client.post("/portal/").status_code == 405

    worker = client.get("/portal/sw.js")
    assert worker["Service-Worker-Allowed"] == "/portal/"
    assert worker["Content-Type"].startswith("text/javascript")
    body = worker.content.decode()
    for asset in ("/static/portal/app.js", "/static/vendor/chartjs/chart.umd.min.js", "/portal/jsi18n/"):
        assert f'"{asset}"' in body

    manifest = client.get("/portal/manifest.webmanifest").json()
    assert (manifest["start_url"], manifest["scope"]) == ("/portal/", "/portal/")
    catalog = client.get("/portal/jsi18n/").content.decode()
    assert "django.gettext" in catalog


# --- getting in ---------------------------------------------------------------------------------------------------


@pytest.mark.worker
def test_invitation_email_activates_then_today_shows_program_and_what_is_due(
    portal_stack: PortalStack, phone: Page, browser_log: BrowserLog
) -> None:
    browser_log.allow_console_error(r"status of 400", url=f"{portal_stack.url}/api/v1/auth/activate/")
    patient, link = portal_stack.invite_patient("Nadia", "nadia@harbour.example")
    assert "/portal/activate/?token=" in link

    phone.goto(link)
    phone.get_by_role("heading", level=1, name="Activate your account").wait_for()
    assert_accessible(phone, "the activation screen")
    phone.get_by_label("Your email").fill(patient.email)
    phone.get_by_label("Choose a password").fill("short")
    phone.get_by_role("button", name="Activate and log in").click()
    # The password validators' 400 (a console error the test expects), beside the password field.
    error = phone.locator("#password-error")
    error.wait_for()
    assert "too short" in error.inner_text()
    assert phone.get_by_label("Choose a password").get_attribute("aria-describedby") == "password-error"
    shot(phone, "portal-activate")
    phone.get_by_label("Choose a password").fill(PASSWORD)
    phone.get_by_role("button", name="Activate and log in").click()

    phone.get_by_role("heading", level=1, name="Hello, Nadia").wait_for()
    assert phone.url == f"{portal_stack.url}/portal/"
    assert "Core stabilization" in phone.locator("#phase-h").inner_text()
    exercises = phone.locator(".exercises > li")
    assert exercises.count() == patient.enrollments.get().prescription.count() > 0
    first = patient.enrollments.get().prescription.order_by("position").first()
    text = exercises.first.inner_text()
    assert first is not None
    assert first.name in text
    assert f"{first.sets} sets of {first.reps}" in text
    due = phone.locator(".due > li")
    assert due.count() >= 1
    assert re.search("Post-workout|Weekly check-in", phone.locator(".due").inner_text())
    assert_accessible(phone, "Today")
    shot(phone, "portal-today")

    # Log out: back to the log-in screen, and the API forgets the session.
    phone.get_by_role("button", name="Log out").click()
    phone.get_by_role("heading", level=1, name="Log in").wait_for()
    assert_accessible(phone, "the log-in screen")

    # Forgotten password: the emailed link opens the portal's page for a new one, then log in with it.
    phone.get_by_role("link", name="Forgot your password?").click()
    phone.get_by_label("Email").fill(patient.email)
    phone.get_by_role("button", name="Send me a link").click()
    phone.get_by_role("status").filter(has_text="we have sent it a link").wait_for()
    reset = portal_stack.wait_for_email(
        lambda m: addressed_to(m, patient.email) and "/reset-password/" in email_text(m)
    )
    (link,) = [u for u in email_links(reset) if "/portal/reset-password/?uid=" in u]
    phone.goto(link)
    phone.get_by_label("New password").fill("a-new-Harbour-passphrase-2026")
    phone.get_by_role("button", name="Change password").click()
    phone.get_by_role("status").filter(has_text="Your password is changed").wait_for()
    phone.get_by_label("Email").fill(patient.email)
    phone.get_by_label("Password").fill("a-new-Harbour-passphrase-2026")
    phone.get_by_role("button", name="Log in").click()
    phone.get_by_role("heading", level=1, name="Hello, Nadia").wait_for()


def test_lockout_says_when_to_try_again(demo_server: DemoClinic, phone: Page, browser_log: BrowserLog) -> None:
    browser_log.allow_console_error(r"status of (400|429)")
    phone.goto(f"{demo_server.url}/portal/login/")
    phone.get_by_label("Email").fill(DEMO_PATIENT)
    phone.get_by_label("Password").fill("not-the-password")
    alert = phone.get_by_role("alert")
    for _attempt in range(4):
        phone.get_by_role("button", name="Log in").click()
        alert.filter(has_text="Email or password is wrong.").wait_for()
        phone.evaluate("document.querySelector('[role=alert]').hidden = true")
    phone.get_by_role("button", name="Log in").click()
    alert.filter(has_text="blocked").wait_for()
    words = alert.inner_text()
    assert "Too many failed attempts" in words
    assert re.search(r"Try again in 15 minutes, at \d\d:\d\d", words), words
    shot(phone, "portal-login-locked")


# --- reporting ----------------------------------------------------------------------------------------------------


def test_post_workout_report_one_sided_thigh_ache_error_beside_question_then_in_history(
    demo_server: DemoClinic, phone: Page, browser_log: BrowserLog
) -> None:
    browser_log.allow_console_error(r"status of 400")
    grace = demo_server.patients["Grace"]
    before = Entry.objects.filter(patient=grace).count()
    log_in(phone, demo_server.url, DEMO_PATIENT, demo_server.password)
    open_report(phone)
    assert_accessible(phone, "the post-workout report")

    # Conditional questions appear only when they apply.
    level = phone.locator('[data-field="thigh_level"]')
    assert level.is_hidden()
    # "Unchanged since last reported" offers only the safety-screen items ticked, and only once one is.
    unchanged = phone.locator('[data-field="safety_screen_unchanged"]')
    assert unchanged.is_hidden()
    choose(phone, "safety_screen", "bowel_change")
    assert unchanged.is_visible()
    assert unchanged.locator(".choice:visible").count() == 1
    choose(phone, "safety_screen", "bowel_change")  # untick: not a red-flag report
    assert unchanged.is_hidden()
    fill_post_workout(phone, back_pain_now=None, thigh_symptoms="left")
    assert level.is_visible()
    choose(phone, "thigh_level", "4")
    choose(phone, "thigh_stretch_response", "no_change")
    choose(phone, "thigh_below_knee", "false")
    phone.get_by_label("Anything else your therapist should know?").fill("Left hamstring pulls after bridges")
    shot(phone, "portal-report")
    # At 200% zoom the phone is 195 CSS pixels wide: everything wraps, nothing scrolls sideways.
    phone.set_viewport_size({"width": 195, "height": 422})
    assert phone.evaluate("document.documentElement.scrollWidth") <= 195
    phone.set_viewport_size(PHONE["viewport"])

    # Back pain left unanswered: the API's 400 is shown beside that question, focus on it, nothing lost.
    phone.get_by_role("button", name="Send report").click()
    error = phone.locator("#err-back_pain_now")
    error.wait_for()
    assert "required" in error.inner_text()
    block = phone.locator('[data-field="back_pain_now"]')
    assert block.get_attribute("aria-describedby") == "err-back_pain_now"
    assert phone.evaluate("document.activeElement.name") == "q-back_pain_now"
    assert phone.locator('[data-field="thigh_symptoms"] input[value="left"]').is_checked()
    assert (
        phone.get_by_label("Anything else your therapist should know?").input_value()
        == "Left hamstring pulls after bridges"
    )
    assert_accessible(phone, "the report with an error")
    shot(phone, "portal-report-error")
    assert Entry.objects.filter(patient=grace).count() == before

    choose(phone, "back_pain_now", "3")
    phone.get_by_role("button", name="Send report").click()
    phone.get_by_role("heading", level=1, name="Thank you, your report is saved").wait_for()
    assert_accessible(phone, "the advice screen")
    shot(phone, "portal-advice")

    entry = Entry.objects.filter(patient=grace).latest("submitted_at")
    assert Entry.objects.filter(patient=grace).count() == before + 1
    assert (entry.thigh_symptoms, entry.thigh_level, entry.back_pain_now) == ("left", 4, 3)
    assert (entry.thigh_nerve_qualities, entry.neck_level) == ([], None)  # the neck was fine: not asked

    phone.get_by_role("link", name="See your progress").click()
    phone.get_by_role("heading", level=1, name="Your progress").wait_for()
    newest = phone.locator(".history > li").first
    assert newest.get_attribute("data-entry") == str(entry.pk)
    assert "back pain 3, stiffness 2, leg symptoms" in newest.inner_text()
    assert phone.locator(".chart canvas").count() == 2
    phone.get_by_label("90 days").check(force=True)
    phone.wait_for_function("document.querySelectorAll('.chart canvas').length === 2")
    assert_accessible(phone, "Progress")
    shot(phone, "portal-progress")


def test_weekly_check_in_asks_conditional_questions_only_when_they_apply(demo_server: DemoClinic, phone: Page) -> None:
    log_in(phone, demo_server.url, DEMO_PATIENT, demo_server.password)
    phone.get_by_role("link", name="Weekly check-in").first.click()
    phone.get_by_role("heading", level=1, name="Weekly check-in").wait_for()
    eases = phone.locator('[data-field="stiffness_eases_with_movement"]')
    assert eases.is_hidden()
    choose(phone, "morning_stiffness_duration", "60_120")
    assert eases.is_visible()
    assert eases.locator("legend").inner_text().startswith("Does the morning stiffness ease")
    choose(phone, "morning_stiffness_duration", "lt15")
    assert eases.is_hidden()
    assert_accessible(phone, "the weekly check-in")
    shot(phone, "portal-weekly")


@pytest.mark.worker
def test_red_flag_fills_the_screen_and_the_therapist_is_emailed(portal_stack: PortalStack, phone: Page) -> None:
    patient, link = portal_stack.invite_patient("Ruth", "ruth@harbour.example")
    phone.goto(link)
    phone.get_by_label("Your email").fill(patient.email)
    phone.get_by_label("Choose a password").fill(PASSWORD)
    phone.get_by_role("button", name="Activate and log in").click()
    phone.get_by_role("heading", level=1, name="Hello, Ruth").wait_for()
    open_report(phone)
    fill_post_workout(phone, session_completed="stopped_symptoms", back_pain_now="6")
    choose(phone, "safety_screen", "saddle_numbness")
    phone.get_by_role("button", name="Send report").click()

    phone.get_by_role("heading", level=1, name="Stop and get help now").wait_for()
    screen = phone.locator(".urgent-screen").inner_text()
    assert "emergency" in screen
    assert "Call your clinic now" in screen
    assert "Your therapist has been told" in screen
    assert_accessible(phone, "the urgent screen")
    shot(phone, "portal-urgent")

    email = portal_stack.wait_for_urgent_email()
    assert portal_stack.url in email_text(email)  # a link into the admin, not the patient's answers
    assert "saddle" not in str(email["Subject"]).lower()


# --- without signal -----------------------------------------------------------------------------------------------


def test_report_without_signal_waits_then_is_sent_once_with_its_time(
    demo_server: DemoClinic, browser: Browser, browser_log: BrowserLog
) -> None:
    # The failed POST and reads of the offline phone are expected.
    browser_log.allow_console_error(r"ERR_INTERNET_DISCONNECTED|Failed to fetch")
    context = _phone_context(browser, browser_log, service_workers="allow")
    try:
        phone = context.new_page()
        grace = demo_server.patients["Grace"]
        log_in(phone, demo_server.url, DEMO_PATIENT, demo_server.password)
        phone.wait_for_function("navigator.serviceWorker.controller !== null", timeout=TIMEOUT_MS)
        # The first visit's reads are read again through the service worker once it controls the page, and kept.
        phone.wait_for_function(
            "caches.open('portal-api').then((c) => c.match('/api/v1/questionnaires/')).then((r) => r !== undefined)",
            timeout=TIMEOUT_MS,
        )
        open_report(phone)
        phone.get_by_role("navigation").get_by_role("link", name="Today").click()
        phone.get_by_role("heading", level=1, name="Hello, Grace").wait_for()
        before = Entry.objects.filter(patient=grace).count()

        context.set_offline(True)
        phone.reload()  # the shell, the catalog, Chart.js, /me/ and the program from the service worker's cache
        phone.get_by_role("heading", level=1, name="Hello, Grace").wait_for()
        assert phone.locator(".exercises > li").count() > 0
        phone.get_by_text("Offline: reports are kept on this phone").wait_for()
        open_report(phone)
        fill_post_workout(phone)
        made_from = timezone.now()
        phone.get_by_role("button", name="Send report").click()
        phone.get_by_role("heading", level=1, name="Saved on this phone").wait_for()
        made_until = timezone.now()
        shot(phone, "portal-offline-saved")
        phone.get_by_role("link", name="Back to today").click()
        waiting = phone.locator(".waiting li")
        waiting.filter(has_text="waiting to send").wait_for()
        assert_accessible(phone, "Today with a report waiting")
        shot(phone, "portal-offline-waiting")
        assert Entry.objects.filter(patient=grace).count() == before

        restored = timezone.now()
        context.set_offline(False)
        phone.get_by_text("1 waiting report sent.").wait_for()
        phone.locator(".waiting").wait_for(state="detached")
        # Opened again online: nothing left to send, nothing sent twice.
        phone.reload()
        phone.get_by_role("heading", level=1, name="Hello, Grace").wait_for()
        phone.wait_for_timeout(300)
        entries = Entry.objects.filter(patient=grace, submitted_at__gte=restored)
        assert entries.count() == 1 == Entry.objects.filter(patient=grace).count() - before
        entry = entries.get()
        assert made_from <= entry.occurred_at <= made_until < restored <= entry.submitted_at
        assert entry.idempotency_key
    finally:
        context.close()
    browser_log.check()


def test_red_flag_without_signal_shows_urgent_advice_at_once(
    demo_server: DemoClinic, phone: Page, browser_log: BrowserLog
) -> None:
    browser_log.allow_console_error(r"ERR_INTERNET_DISCONNECTED|Failed to fetch")
    grace: Patient = demo_server.patients["Grace"]
    log_in(phone, demo_server.url, DEMO_PATIENT, demo_server.password)
    open_report(phone)
    phone.context.set_offline(True)
    fill_post_workout(phone)
    choose(phone, "safety_screen", "bladder_change")
    phone.get_by_role("button", name="Send report").click()
    phone.get_by_role("heading", level=1, name="Stop and get help now").wait_for()
    screen = phone.locator(".urgent-screen").inner_text()
    assert "emergency care" in screen
    assert "NOT been told yet" in screen
    assert "Call the clinic now" in screen
    shot(phone, "portal-urgent-offline")
    phone.context.set_offline(False)
    phone.get_by_text("1 waiting report sent.").wait_for()
    entry = Entry.objects.filter(patient=grace).latest("submitted_at")
    assert entry.safety_screen == ["bladder_change"]
    assert isinstance(entry.occurred_at, datetime)
