"""The landing page's preset picker, in headless Chromium: picking CS231n's neuron switches the
point's fields to its weights and inputs, and the page shows what /forward and /backward answer;
the training panel trains the picked graph, drawing its curve live, ending on /train's loss."""

from __future__ import annotations

import json
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

NEURON = "cs231n_neuron"


def test_the_page_has_a_preset_picker_defaulting_to_the_course(client: Any) -> None:
    page = client.get("/").text
    assert 'id="graph-preset"' in page
    assert '<option value="course" selected>course</option>' in page


def _headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {k}"} if (k := os.environ.get("API_KEY")) else {}


def _body(browser: WebDriver) -> Any:
    return browser.find_element(By.TAG_NAME, "body")


def _shown(browser: WebDriver, table: str) -> dict[str, float]:
    cells = browser.find_elements(By.CSS_SELECTOR, f"#{table} td")
    prefix = "value-" if table == "values" else "grad-"
    return {str(td.get_attribute("id")).removeprefix(prefix): float(td.text) for td in cells}


def _ready_on(browser: WebDriver, graph: str) -> bool:
    body = _body(browser)
    return bool(
        body.get_attribute("data-graph") == graph and body.get_attribute("data-state") == "ready"
    )


def _numbers(browser: WebDriver, prefix: str) -> tuple[list[str], list[float]]:
    inputs = browser.find_elements(By.CSS_SELECTOR, f"input[id^='{prefix}'][data-name]")
    return (
        [str(i.get_attribute("data-name")) for i in inputs],
        [float(i.get_attribute("value") or "nan") for i in inputs],
    )


def _check_against_the_service(browser: WebDriver, base_url: str, point: dict[str, Any]) -> None:
    forward = httpx.post(f"{base_url}/forward", json=point, headers=_headers())
    backward = httpx.post(f"{base_url}/backward", json=point, headers=_headers())
    assert forward.status_code == backward.status_code == 200
    assert _shown(browser, "values") == forward.json()  # every key, exactly (JS prints repr)
    expected = backward.json()
    gradients = expected["gradients"] | expected.get("input_gradients", {})  # course: none
    assert _shown(browser, "gradients") == gradients


def test_picking_the_cs231n_preset_shows_the_numbers_forward_and_backward_give(
    browser: WebDriver, base_url: str
) -> None:
    browser.get(f"{base_url}/")
    if key := os.environ.get("API_KEY"):
        browser.find_element(By.ID, "key").send_keys(key)
        browser.find_element(By.ID, "compute").click()
    wait = WebDriverWait(browser, 60)
    wait.until(lambda d: _ready_on(d, "course"))
    wait.until(lambda d: int(_body(d).get_attribute("data-presets") or 0) >= 2)
    picker = Select(browser.find_element(By.ID, "graph-preset"))
    assert picker.first_selected_option.get_attribute("value") == "course"
    assert NEURON in [o.get_attribute("value") for o in picker.options]

    picker.select_by_value(NEURON)
    wait.until(lambda d: _ready_on(d, NEURON))
    # The fields follow the graph: its weights and inputs, at its example point (the lecture's).
    assert _numbers(browser, "w") == (["w0", "w1", "w2"], [2.0, -3.0, -3.0])
    assert _numbers(browser, "x") == (["x0", "x1"], [-1.0, -2.0])
    assert not browser.find_element(By.ID, "row").is_displayed()  # x0, x1 are no dataset columns
    point = {"graph": NEURON, "w": [2.0, -3.0, -3.0], "x": [-1.0, -2.0], "y": 0.0}
    _check_against_the_service(browser, base_url, point)
    values, grads = _shown(browser, "values"), _shown(browser, "gradients")
    assert round(values["y_pred"], 2) == 0.73  # CS231n lecture 4's published numbers
    assert [round(grads[g], 2) for g in ("dw0", "dw1", "dw2")] == [-0.20, -0.39, 0.20]
    assert [round(grads[g], 2) for g in ("dx0", "dx1")] == [0.39, -0.59]
    picture = browser.find_element(By.ID, "graph")
    wait.until(lambda d: d.execute_script("return arguments[0].naturalWidth", picture) > 0)
    assert "CS231n" in browser.find_element(By.ID, "graph-summary").text

    field = browser.find_element(By.ID, "x2")  # change x1 and compute again
    field.clear()
    field.send_keys("0.5")
    browser.find_element(By.ID, "compute").click()
    changed = {**point, "x": [-1.0, 0.5]}
    expected = httpx.post(f"{base_url}/forward", json=changed, headers=_headers()).json()
    wait.until(lambda d: _ready_on(d, NEURON) and _shown(d, "values") == expected)
    _check_against_the_service(browser, base_url, changed)

    picker.select_by_value("course")  # and back: the course's fields and numbers as before
    wait.until(lambda d: _ready_on(d, "course"))
    assert _numbers(browser, "w") == ([f"w{i}" for i in range(1, 10)], [0.1] * 9)
    assert browser.find_element(By.ID, "row").is_displayed()
    _check_against_the_service(browser, base_url, {"w": [0.1] * 9, "row": 0})


def _training(browser: WebDriver) -> str:
    return str(_body(browser).get_attribute("data-training"))


def _points(browser: WebDriver) -> int:
    return int(browser.find_element(By.ID, "curve").get_attribute("data-points") or 0)


def _run_and_watch(browser: WebDriver) -> list[int]:
    """Click Train and poll the curve's point count until the run ends (or 180 s pass)."""
    browser.find_element(By.ID, "train").click()
    seen: list[int] = []
    deadline = time.monotonic() + 180
    while _training(browser) in ("idle", "running") and time.monotonic() < deadline:
        seen.append(_points(browser))
        time.sleep(0.01)
    assert _training(browser) == "done", browser.find_element(By.ID, "train-error").text
    return [count for count in seen if count > 0]


def _fill(browser: WebDriver, field: str, value: str) -> None:
    element = browser.find_element(By.ID, field)
    element.clear()
    element.send_keys(value)


def test_the_training_panel_trains_the_picked_preset_live_and_ends_on_train_s_loss(
    browser: WebDriver, base_url: str
) -> None:
    browser.get(f"{base_url}/")
    if key := os.environ.get("API_KEY"):
        browser.find_element(By.ID, "key").send_keys(key)
        browser.find_element(By.ID, "compute").click()
    wait = WebDriverWait(browser, 60)
    wait.until(lambda d: int(_body(d).get_attribute("data-presets") or 0) >= 2)
    assert not browser.find_element(By.ID, "train-data").is_displayed()  # course: its dataset
    Select(browser.find_element(By.ID, "graph-preset")).select_by_value(NEURON)
    wait.until(lambda d: _ready_on(d, NEURON))
    assert browser.find_element(By.ID, "train-graph").text == NEURON
    # x0, x1 are no dataset columns: the panel trains on the data shown, a generated set
    data = json.loads(browser.find_element(By.ID, "train-data").get_attribute("value") or "")
    assert len(data["X"]) == len(data["y"]) == 500
    assert {len(row) for row in data["X"]} == {2}
    Select(browser.find_element(By.ID, "optimizer")).select_by_value("adam")
    _fill(browser, "epochs", "10000")  # 5 M steps: about half a second or more
    _fill(browser, "learning-rate", "0.0005")

    live = _run_and_watch(browser)
    assert len(set(live)) >= 2, f"the curve did not grow while training: {live[-20:]}"
    assert live == sorted(live)

    body = {
        "graph": NEURON,
        "optimizer": "adam",
        "epochs": 10_000,
        "learning_rate": 0.0005,
        "data": data,
    }
    expected = httpx.post(f"{base_url}/train", json=body, headers=_headers(), timeout=120)
    assert expected.status_code == 200, expected.text
    answer = expected.json()
    assert len(answer["initial_weights"]) == 3  # default_rng(0).normal(0, 0.01, 3): the neuron's
    history = answer["loss_history"]
    assert float(browser.find_element(By.ID, "final-loss").text) == history[-1]
    assert _points(browser) == len(history) == 10_000
    assert browser.find_element(By.ID, "train-status").text == "completed"
    assert browser.find_element(By.ID, "train-graph-used").text == NEURON
    assert browser.find_element(By.ID, "train-clipping").text == "none"
