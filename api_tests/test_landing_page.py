"""The landing page at /, and in headless Chromium: a real click shows /forward's loss."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from api_tests.conftest import BASE_URL, COURSE_W

PORTS = range(18400, 18500)
CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
)
COURSE_LOSS = 0.9298048963072919


def test_landing_page_is_html_linking_the_docs_and_hidden_from_openapi(client: Any) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'href="docs"' in response.text
    assert 'id="compute"' in response.text
    assert "/" not in client.get("/openapi.json").json()["paths"]


def _free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError(f"no free port in {PORTS}")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """The live server: API_BASE_URL, or a uvicorn started here on 127.0.0.1."""
    if BASE_URL:
        yield BASE_URL.rstrip("/")
        return
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", "service.main:app", "--host", "127.0.0.1"]
    server = subprocess.Popen(
        [*command, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # start-up compiles or loads the training kernel
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.25)
        else:
            pytest.fail(f"uvicorn did not answer on {url} (exit code {server.poll()})")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    """Debian's headless Chromium driven by its chromedriver, with a fresh profile."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not (chromium and chromedriver):
        pytest.skip(
            "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        )
    with tempfile.TemporaryDirectory(prefix="landing-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in (*CHROME_FLAGS, f"--user-data-dir={profile}", "--window-size=1400,1000"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
        try:
            yield driver
        finally:
            driver.quit()


def _open(browser: WebDriver, base_url: str) -> WebDriverWait[WebDriver]:
    browser.get(f"{base_url}/")
    if key := os.environ.get("API_KEY"):
        browser.find_element(By.ID, "key").send_keys(key)
    wait = WebDriverWait(browser, 60)
    wait.until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state") != "loading"
    )
    return wait


def _set(browser: WebDriver, field: str, value: str) -> None:
    element = browser.find_element(By.ID, field)
    element.clear()
    element.send_keys(value)


def _shown_loss(browser: WebDriver) -> float | None:
    text = browser.find_element(By.ID, "value-loss").text
    return float(text) if text else None


def test_changing_a_weight_and_clicking_compute_shows_the_loss_forward_gives(
    browser: WebDriver, base_url: str
) -> None:
    wait = _open(browser, base_url)
    if os.environ.get("API_KEY"):  # the first load ran before the key was typed
        browser.find_element(By.ID, "compute").click()
    wait.until(lambda d: _shown_loss(d) is not None)
    assert _shown_loss(browser) == COURSE_LOSS  # the course's point: w = [0.1]*9, row 0

    _set(browser, "w3", "0.7")
    _set(browser, "row", "17")
    browser.find_element(By.ID, "compute").click()

    w = [*COURSE_W[:2], 0.7, *COURSE_W[3:]]
    headers = {"Authorization": f"Bearer {k}"} if (k := os.environ.get("API_KEY")) else {}
    forward = httpx.post(f"{base_url}/forward", json={"w": w, "row": 17}, headers=headers)
    assert forward.status_code == 200
    expected = forward.json()["loss"]
    assert expected != COURSE_LOSS
    wait.until(lambda d: _shown_loss(d) == expected)
    for name in ("exp", "tanh", "sigmoid", "y_pred", "dy_pred"):
        assert float(browser.find_element(By.ID, f"value-{name}").text) == forward.json()[name]
    picture = browser.find_element(By.ID, "graph")
    wait.until(lambda d: d.execute_script("return arguments[0].naturalWidth", picture) > 0)
    assert picture.get_attribute("src").startswith("blob:")


def test_an_overflowing_point_shows_the_services_problem_detail(
    browser: WebDriver, base_url: str
) -> None:
    wait = _open(browser, base_url)
    _set(browser, "w1", "1000")
    browser.find_element(By.ID, "compute").click()
    error = browser.find_element(By.ID, "error")
    wait.until(lambda d: error.is_displayed())
    assert "overflowed" in error.text
    assert browser.find_element(By.ID, "value-loss").text == ""
