"""Swagger UI at /docs in headless Chromium: "Try it out", "Execute", the course's numbers."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

try:  # without selenium the `browser` fixture skips these tests, saying why
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    pass

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

from api_tests.support.course import COURSE_FORWARD, COURSE_GRADIENTS


def _execute_example(browser: WebDriver, base_url: str, operation: str) -> dict[str, Any]:
    """Open the operation, click "Try it out" and "Execute" with its example; the body shown."""
    browser.get(f"{base_url}/docs")
    wait = WebDriverWait(browser, 60)
    block = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f"[id$='-{operation}']"))
    block.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait.until(lambda d: block.find_element(By.CSS_SELECTOR, ".try-out__btn")).click()
    block.find_element(By.CSS_SELECTOR, ".execute").click()
    shown = wait.until(
        lambda d: block.find_element(By.CSS_SELECTOR, ".live-responses-table code").text
    )
    body: dict[str, Any] = json.loads(shown)
    return body


def test_docs_page_loads_its_assets_locally(client: Any) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200


def test_try_it_out_on_forward_shows_the_course_values(browser: WebDriver, base_url: str) -> None:
    assert _execute_example(browser, base_url, "forward") == COURSE_FORWARD


def test_try_it_out_on_backward_shows_the_course_gradients(
    browser: WebDriver, base_url: str
) -> None:
    body = _execute_example(browser, base_url, "backward")
    assert {k: round(v, 6) for k, v in body["gradients"].items()} == COURSE_GRADIENTS


@pytest.mark.parametrize(
    ("operation", "key", "expected"),
    [("gradcheck", "verdict", "pass"), ("train", "status", "completed")],
)
def test_try_it_out_runs_the_course_case(
    browser: WebDriver, base_url: str, operation: str, key: str, expected: str
) -> None:
    assert _execute_example(browser, base_url, operation)[key] == expected
