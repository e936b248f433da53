"""Smoke tests of the browser set-up: a therapist's admin works in chromium, another clinic's therapist sees 404s."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.contrib import admin

from tests.browser.conftest import (
    DEMO_THERAPIST,
    BrowserLog,
    DemoClinic,
    StaffLogin,
    login,
    screenshot,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_therapist_logs_in_and_the_admin_loads_with_its_styles(
    page: Page, demo_server: DemoClinic, tmp_path: Path
) -> None:
    login(page, demo_server.url, DEMO_THERAPIST, demo_server.password)

    assert page.url == f"{demo_server.url}/admin/"
    assert page.locator("#site-name").inner_text() == admin.site.site_header
    assert page.locator("#content h1").inner_text() == admin.site.index_title
    assert page.locator("#user-tools").get_by_role("button", name="Log out").is_visible()
    # The admin's CSS came from the live server: the header has its colour, not the browser's transparent default.
    assert page.locator("#header").evaluate("e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)"

    shot = screenshot(page, "admin-index", folder=tmp_path)

    assert shot == tmp_path / "admin-index.png"
    assert shot.read_bytes().startswith(PNG_SIGNATURE)


def test_the_demo_alerts_are_there(demo_server: DemoClinic) -> None:
    omar, tom = demo_server.alerts["Omar"], demo_server.alerts["Tom"]

    assert (omar.rule_id, omar.severity) == ("R-01", "urgent")
    assert (tom.rule_id, tom.qualifier.split(":")[0]) == ("R-04", "right")
    assert {"Peter", "Grace"}.isdisjoint(demo_server.alerts)


def test_another_clinics_therapist_gets_a_404_for_the_demo_clinics_patient_and_alert(
    page: Page, browser_log: BrowserLog, demo_server: DemoClinic, other_clinic_therapist: StaffLogin
) -> None:
    patient_url = demo_server.change_url(demo_server.patients["Omar"])
    alert_url = demo_server.change_url(demo_server.alerts["Omar"])
    # Chromium logs a document's 404 as a console error; these two are the point of the test.
    for url in (patient_url, alert_url):
        browser_log.allow_console_error(r"status of 404", url=url)
    login(page, demo_server.url, other_clinic_therapist.email, other_clinic_therapist.password)

    for url in (patient_url, alert_url):
        response = page.goto(url)

        assert response is not None
        assert response.status == 404, url
        assert "Omar" not in page.content()


def test_outside_requests_are_aborted_and_browser_errors_fail_the_test(page: Page, browser_log: BrowserLog) -> None:
    """The ``page`` fixture's guard: what the page tried and logged is recorded, and the check fails on it."""
    with page.expect_console_message(lambda m: m.type == "error"):
        page.set_content('<script src="https://cdn.example.com/lib.js"></script><p>still rendered</p>')
    with page.expect_event("pageerror"):
        page.evaluate("setTimeout(() => { throw new Error('boom from the page') }, 0)")

    assert page.locator("p").inner_text() == "still rendered"
    assert browser_log.outside_requests == ["GET https://cdn.example.com/lib.js (script)"]
    assert any("ERR_BLOCKED_BY_CLIENT" in e for e in browser_log.console_errors), browser_log.console_errors
    assert any("boom from the page" in e for e in browser_log.page_errors), browser_log.page_errors
    with pytest.raises(pytest.fail.Exception) as failed:
        browser_log.check()  # what the fixture does after the test; reported once, so this test itself passes
    message = str(failed.value)
    assert "outside request (aborted): GET https://cdn.example.com/lib.js (script)" in message
    assert "page error: " in message
    assert "boom from the page" in message
