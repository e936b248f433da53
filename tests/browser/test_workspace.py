"""The therapist's workspace in chromium: the attention view, triage of an alert, the patient's charts, and another
clinic's therapist seeing none of it. Writes the README's screenshots to docs/screenshots/."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.urls import reverse

from assessments.admin import QUEUE_TITLE
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

RESOLUTION_NOTE = "Phoned the patient; sent to A&E"
SEVERITY_ORDER = ("urgent", "high", "routine")

# What the patient page's Chart.js instances (window.wsCharts, assessments/static/workspace/patient_charts.js) hold.
READ_CHARTS = """() => {
  const charts = window.wsCharts;
  const points = (id, label) => charts[id].data.datasets.find((d) => d.label === label).data;
  return {
    ids: Object.keys(charts),
    right: points("leg", "Right").map((p) => p.y),
    pain: charts.pain.data.datasets[0].data.length,
    legAlerts: points("leg", "Alerts").map((p) => p.alert.rule),
    legLabels: charts.leg.data.datasets.map((d) => d.label),
  };
}"""


def read_charts(page: Page) -> dict[str, Any]:
    page.wait_for_function("() => window.wsCharts && Object.keys(window.wsCharts).length > 0")
    charts: dict[str, Any] = page.evaluate(READ_CHARTS)
    return charts


def test_the_therapist_lands_on_the_attention_view_with_the_urgent_red_flag_first(
    page: Page, demo_server: DemoClinic
) -> None:
    omar = demo_server.alerts["Omar"]
    login(page, demo_server.url, DEMO_THERAPIST, demo_server.password)

    assert page.url == f"{demo_server.url}/admin/"
    rows = page.locator("#attention-alerts tbody tr[data-alert]")
    first = rows.first
    assert first.get_attribute("data-alert") == str(omar.pk)
    assert "Omar Haddad" in first.inner_text()
    severities = [c.split("ws-")[1] for c in rows.evaluate_all("rs => rs.map(r => r.classList[1])")]
    assert severities == sorted(severities, key=SEVERITY_ORDER.index), severities
    assert int(page.locator(".ws-count[data-severity=urgent] .ws-n").inner_text()) >= 1
    screenshot(page, "attention-view")

    first.locator("a.ws-open").click()

    page.wait_for_url(demo_server.change_url(omar))
    assert "Omar Haddad" in page.locator("#content h1").inner_text()


def test_the_therapist_acknowledges_and_resolves_the_red_flag_with_a_note(page: Page, demo_server: DemoClinic) -> None:
    omar = demo_server.alerts["Omar"]
    login(page, demo_server.url, DEMO_THERAPIST, demo_server.password)
    page.goto(demo_server.change_url(omar))

    # The evidence in words is on show; the raw values come after it, behind a closed disclosure.
    words = page.locator(".ws-words .ws-summary")
    raw = page.locator("details:has(> summary:text('Show the raw values')) pre")
    assert words.is_visible()
    assert words.inner_text().strip()
    assert raw.count() == 1
    assert not raw.is_visible()
    assert raw.evaluate("(pre, words) => !!(words.compareDocumentPosition(pre) & 4)", words.element_handle())
    assert page.locator("details:has(pre)").evaluate_all("ds => ds.every(d => !d.open)")
    screenshot(page, "alert-page")

    with page.expect_navigation():
        page.locator("#acknowledge").click()
    assert page.locator(".field-status .readonly").inner_text().strip() == "Acknowledged"
    assert page.locator("#acknowledge").count() == 0

    page.locator("#resolve").click()
    page.wait_for_url(f"{demo_server.url}/admin/assessments/alert/{omar.pk}/resolve/")
    note = page.locator("#resolve-form textarea[name=note]")
    submit = page.locator("#resolve-form [type=submit][value='Resolve the alert']")
    submit.click()  # empty: the browser keeps the form (the field is required)
    assert note.evaluate("t => t.validity.valueMissing")
    assert page.url.endswith(f"/alert/{omar.pk}/resolve/")
    note.fill("   ")  # blank for the server
    with page.expect_navigation():
        submit.click()
    assert page.locator("#resolve-form .errorlist").inner_text().strip() == "Say how the alert was resolved."

    note.fill(RESOLUTION_NOTE)
    with page.expect_navigation():
        submit.click()

    assert page.url == demo_server.url + reverse("admin:assessments_alert_changelist")
    assert page.locator("#content h1").inner_text() == QUEUE_TITLE
    assert page.locator(".messagelist .success").inner_text().startswith("Resolved: R-01")
    queued = page.locator("#result_list tbody tr input.action-select").evaluate_all("cs => cs.map(c => c.value)")
    assert queued  # the other open alerts are still queued
    assert str(omar.pk) not in queued
    page.goto(f"{demo_server.url}/admin/")
    assert page.locator("#attention-alerts tr[data-alert]").count() >= 1
    assert page.locator(f"#attention-alerts tr[data-alert='{omar.pk}']").count() == 0
    page.goto(demo_server.change_url(demo_server.patients["Omar"]))
    resolved = page.locator("#timeline li.ws-item[data-type=alert]").filter(has_text=f"Note: {RESOLUTION_NOTE}")
    assert resolved.count() == 1
    assert "Resolved" in resolved.inner_text()


def test_the_patient_page_charts_the_right_thigh_ache_with_its_alert(page: Page, demo_server: DemoClinic) -> None:
    login(page, demo_server.url, DEMO_THERAPIST, demo_server.password)
    page.goto(demo_server.change_url(demo_server.patients["Tom"]))

    assert page.locator("a.ws-active[data-days]").get_attribute("data-days") == "90"
    charts = read_charts(page)
    assert set(charts["ids"]) == {"pain", "stiffness", "neck", "leg", "function", "exercise"}
    assert charts["legLabels"] == ["Left", "Right", "Both sides", "Weekly: leg pain 7-day average", "Alerts"]
    assert sum(y >= 3 for y in charts["right"]) >= 2, charts["right"]
    assert charts["pain"] > 0
    assert "R-04" in charts["legAlerts"]
    assert page.locator("#timeline li.ws-item[data-type=alert]").filter(has_text="Right leg:").count() >= 1
    for canvas in page.locator(".ws-charts canvas").all():
        box = canvas.bounding_box()
        assert box is not None
        assert box["width"] > 100
        assert box["height"] > 100
    screenshot(page, "patient-page")

    page.locator("a[data-days='365']").click()

    page.wait_for_url("**/?days=365")
    assert page.locator("a.ws-active[data-days]").get_attribute("data-days") == "365"
    charts = read_charts(page)
    assert sum(y >= 3 for y in charts["right"]) >= 2, charts["right"]
    assert charts["pain"] > 0
    assert "R-04" in charts["legAlerts"]


def test_another_clinics_therapist_sees_none_of_the_demo_clinics_workspace(
    page: Page, browser_log: BrowserLog, demo_server: DemoClinic, other_clinic_therapist: StaffLogin
) -> None:
    alert_url = demo_server.change_url(demo_server.alerts["Omar"])
    urls = (demo_server.change_url(demo_server.patients["Tom"]), alert_url, alert_url + "resolve/")
    for url in urls:  # Chromium logs a document's 404 as a console error: these are the point of the test.
        browser_log.allow_console_error(r"status of 404", url=url)
    login(page, demo_server.url, other_clinic_therapist.email, other_clinic_therapist.password)

    for url in urls:
        response = page.goto(url)
        assert response is not None
        assert response.status == 404, url
        assert "Tom" not in page.content(), url
        assert "Omar" not in page.content(), url

    page.goto(f"{demo_server.url}/admin/")
    assert page.locator("#attention-alerts tr[data-alert]").count() == 0
    assert page.locator("#attention .ws-none").first.inner_text() == "No open alerts."
    assert page.locator(".ws-count .ws-n").all_inner_texts() == ["0", "0", "0"]
    content = page.content()
    assert not any(a.patient.last_name in content for a in demo_server.alerts.values())
