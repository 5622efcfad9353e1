"""The landing page at /, and in headless Chromium: a real click shows /forward's loss, and the
training panel draws the loss curve live from /train's event stream and clips as its clip
fields say."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

import httpx

try:  # without selenium the `browser` fixture skips these tests, saying why
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:
    pass

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

from api_tests.support.course import COURSE_W

COURSE_LOSS = 0.9298048963072919


def test_landing_page_is_html_linking_the_docs_and_hidden_from_openapi(client: Any) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'href="docs"' in response.text
    assert 'id="compute"' in response.text
    assert "/" not in client.get("/openapi.json").json()["paths"]


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


def _headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {k}"} if (k := os.environ.get("API_KEY")) else {}


def _points(browser: WebDriver) -> int:
    return int(browser.find_element(By.ID, "curve").get_attribute("data-points") or 0)


def _training(browser: WebDriver) -> str | None:
    return browser.find_element(By.TAG_NAME, "body").get_attribute("data-training")


def test_the_training_panel_draws_the_curve_as_it_grows_and_ends_on_train_s_loss(
    browser: WebDriver, base_url: str
) -> None:
    _open(browser, base_url)
    assert 'id="curve"' in browser.page_source
    Select(browser.find_element(By.ID, "optimizer")).select_by_value("adam")
    _set(browser, "epochs", "10000")  # 5 M steps: a second or more, about 10 progress events
    _set(browser, "learning-rate", "0.0005")
    browser.find_element(By.ID, "train").click()
    seen: list[int] = []  # the curve's point count, polled while the run goes on
    deadline = time.monotonic() + 180
    while _training(browser) == "running" and time.monotonic() < deadline:
        seen.append(_points(browser))
        time.sleep(0.01)
    assert _training(browser) == "done", browser.find_element(By.ID, "train-error").text
    live = [count for count in seen if count > 0]
    assert len(set(live)) >= 2, f"the curve did not grow while training: {seen[-20:]}"
    assert live == sorted(live)

    body = {"optimizer": "adam", "epochs": 10_000, "learning_rate": 0.0005}
    expected = httpx.post(f"{base_url}/train", json=body, headers=_headers(), timeout=120)
    assert expected.status_code == 200
    history = expected.json()["loss_history"]
    assert float(browser.find_element(By.ID, "final-loss").text) == history[-1]
    assert _points(browser) == len(history) == 10_000  # the whole history drawn at the end
    assert browser.find_element(By.ID, "train-status").text == "completed"


def test_the_training_panel_shows_a_refusal_s_problem_detail(
    browser: WebDriver, base_url: str
) -> None:
    _open(browser, base_url)
    _set(browser, "epochs", "20")
    _set(browser, "learning-rate", "2e6")  # the form takes it; the service refuses it (422)
    browser.find_element(By.ID, "train").click()
    wait = WebDriverWait(browser, 60)
    wait.until(lambda d: _training(d) == "error")
    assert "learning_rate" in browser.find_element(By.ID, "train-error").text
    assert _points(browser) == 0


def _text(browser: WebDriver, field: str) -> str:
    """The element's text as set (Selenium's .text collapses runs of spaces)."""
    return str(browser.find_element(By.ID, field).get_attribute("textContent"))


def _train_and_wait(browser: WebDriver) -> None:
    browser.find_element(By.ID, "train").click()
    WebDriverWait(browser, 120).until(lambda d: _training(d) in ("done", "error"))
    assert _training(browser) == "done", browser.find_element(By.ID, "train-error").text


def _train_answer(base_url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{base_url}/train", json=body, headers=_headers(), timeout=120)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_the_training_panel_s_clip_fields_clip_the_run_as_train_does(
    browser: WebDriver, base_url: str
) -> None:
    _open(browser, base_url)
    Select(browser.find_element(By.ID, "optimizer")).select_by_value("adam")
    _set(browser, "epochs", "30")
    _set(browser, "learning-rate", "0.05")  # large steps: the clipping changes the run
    _set(browser, "clip-value", "0.05")
    _set(browser, "clip-norm", "0.08")
    _train_and_wait(browser)

    body: dict[str, Any] = {"optimizer": "adam", "epochs": 30, "learning_rate": 0.05}
    clipped = {**body, "clip_grad_value": 0.05, "clip_grad_norm": {"max_norm": 0.08}}
    answer = _train_answer(base_url, clipped)
    assert answer["loss_history"] != _train_answer(base_url, body)["loss_history"]
    assert float(browser.find_element(By.ID, "final-loss").text) == answer["loss_history"][-1]
    assert _points(browser) == 30
    shown = browser.find_element(By.ID, "train-clipping").text
    assert shown == "clip_grad_value 0.05; then clip_grad_norm max_norm 0.08, norm_type 2"
    assert _text(browser, "train-rule") == answer["optimizer"]["rule"]
    assert answer["optimizer"]["equivalent_to"] is None  # the course's Adam: no torch twin
    assert _text(browser, "train-equivalent") == ""

    # RMSprop, the norm alone, from the point's weights (w = 0.1 each), not the default start
    Select(browser.find_element(By.ID, "optimizer")).select_by_value("rmsprop")
    browser.find_element(By.ID, "clip-value").clear()
    browser.find_element(By.ID, "start-at-point").click()
    _train_and_wait(browser)
    norm_only = {
        **body,
        "optimizer": "rmsprop",
        "clip_grad_norm": {"max_norm": 0.08},
        "initial_weights": COURSE_W,
    }
    answer = _train_answer(base_url, norm_only)
    assert answer["initial_weights"] == COURSE_W
    assert float(browser.find_element(By.ID, "final-loss").text) == answer["loss_history"][-1]
    shown = browser.find_element(By.ID, "train-clipping").text
    assert shown == "clip_grad_norm max_norm 0.08, norm_type 2"
    assert _text(browser, "train-rule") == answer["optimizer"]["rule"]
    equivalent = _text(browser, "train-equivalent")
    assert equivalent == answer["optimizer"]["equivalent_to"]
    assert "torch.nn.utils.clip_grad_norm_(params, max_norm=0.08, norm_type=2.0)" in equivalent
