"""The accessibility helper (tests/browser/axe.py): the vendored axe-core finds what it should, and only that."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.browser.axe import AXE_JS, AXE_VERSION, assert_accessible, axe_violations

if TYPE_CHECKING:
    from playwright.sync_api import Page

# An input without a label (critical) and light grey text on white (serious: contrast 1.6:1).
BAD_PAGE = """<!doctype html>
<html lang="en"><head><title>Bad page</title></head>
<body><main>
  <h1>Check-in</h1>
  <p style="color: #dddddd; background: #ffffff">How is your back today?</p>
  <input type="text" id="pain">
</main></body></html>"""

CLEAN_PAGE = """<!doctype html>
<html lang="en"><head><title>Clean page</title></head>
<body><main>
  <h1>Check-in</h1>
  <p style="color: #222222; background: #ffffff">How is your back today?</p>
  <label for="pain">Back pain now (0 to 10)</label>
  <input type="number" id="pain" min="0" max="10">
  <button type="submit">Send</button>
</main></body></html>"""


def test_the_vendored_axe_core_is_a_4x_release() -> None:
    assert AXE_VERSION.startswith("4."), AXE_VERSION
    assert f"axe v{AXE_VERSION}" in AXE_JS.read_text()[:500]


def test_an_unlabeled_input_and_low_contrast_text_are_reported(page: Page) -> None:
    page.set_content(BAD_PAGE)

    violations = axe_violations(page)

    by_id = {v["id"]: v for v in violations}
    assert by_id.keys() == {"label", "color-contrast"}, by_id.keys()
    assert by_id["label"]["impact"] == "critical"
    assert by_id["label"]["nodes"][0]["target"] == ["#pain"]
    assert by_id["color-contrast"]["impact"] == "serious"
    assert by_id["color-contrast"]["nodes"][0]["target"] == ["p"]


def test_assert_accessible_lists_each_violation(page: Page) -> None:
    page.set_content(BAD_PAGE)

    with pytest.raises(AssertionError) as failure:
        assert_accessible(page, "the bad check-in page")

    message = str(failure.value)
    assert "2 serious/critical accessibility violation(s) on the bad check-in page" in message
    assert "- label (critical): Form elements must have labels" in message
    assert "- color-contrast (serious): Elements must meet minimum color contrast ratio thresholds" in message
    assert "      #pain" in message


def test_a_clean_page_has_no_violation_of_any_impact(page: Page) -> None:
    page.set_content(CLEAN_PAGE)

    assert axe_violations(page, impacts=None) == []
    assert_accessible(page, "the clean check-in page")


def test_the_impact_filter_leaves_out_lesser_violations(page: Page) -> None:
    # No <main> landmark and no <h1>: best-practice findings of moderate impact only.
    page.set_content('<!doctype html><html lang="en"><head><title>t</title></head><body><p>Hello</p></body></html>')

    everything = axe_violations(page, impacts=None)

    assert everything, "axe-core reported nothing for a page without landmarks"
    assert {v["impact"] for v in everything} <= {"minor", "moderate"}
    assert axe_violations(page) == []
    assert [v["id"] for v in axe_violations(page, impacts=["moderate"])] == [
        v["id"] for v in everything if v["impact"] == "moderate"
    ]


def test_axe_is_injected_again_after_a_navigation(page: Page) -> None:
    page.set_content(CLEAN_PAGE)
    assert axe_violations(page) == []

    page.goto("about:blank")  # a new window: the injected axe is gone
    page.set_content(BAD_PAGE)

    assert {v["id"] for v in axe_violations(page)} == {"label", "color-contrast"}
