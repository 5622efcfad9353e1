"""POST /gradcheck: SPEC §4's norm-based check, its verdicts and its edge cases."""

from __future__ import annotations

from typing import Any

import pytest

from api_tests.support.course import COURSE_W

COURSE_SMALL_W = [
    0.00271756, 0.01260512, 0.00167639, -0.00207756, 0.00720768,
    0.00114524, 0.00684168, 0.02242521, 0.01296444,
]  # fmt: skip


def _gradients(client: Any, point: dict[str, Any]) -> dict[str, float]:
    response = client.post("/backward", json=point)
    assert response.status_code == 200
    gradients: dict[str, float] = response.json()["gradients"]
    return gradients


def test_gradcheck_passes_at_the_course_point_with_difference_near_4e_10(client: Any) -> None:
    response = client.post("/gradcheck", json={"w": COURSE_W, "row": 0})
    assert response.status_code == 200
    body = response.json()
    assert body["verdict"] == "pass"
    assert 1e-10 < body["difference"] < 1e-9
    assert body["eps"] == 1e-7
    assert body["thresholds"] == {"pass_below": 1e-7, "fail_above": 1e-3}
    assert [row["name"] for row in body["weights"]] == [f"w{i}" for i in range(1, 10)]


@pytest.mark.parametrize("row", [0, 1, 17, 505])
def test_gradcheck_passes_at_the_course_small_weights(client: Any, row: int) -> None:
    response = client.post("/gradcheck", json={"w": COURSE_SMALL_W, "row": row})
    assert response.status_code == 200
    assert response.json()["verdict"] == "pass"


def test_gradcheck_numerical_column_is_the_central_difference(client: Any) -> None:
    point = {"w": COURSE_W, "row": 0}
    eps = 1e-6
    body = client.post("/gradcheck", json={**point, "eps": eps}).json()
    for i, row in enumerate(body["weights"]):
        plus, minus = list(COURSE_W), list(COURSE_W)
        plus[i] += eps
        minus[i] -= eps
        l_plus = client.post("/forward", json={"w": plus, "row": 0}).json()["loss"]
        l_minus = client.post("/forward", json={"w": minus, "row": 0}).json()["loss"]
        assert row["numerical"] == (l_plus - l_minus) / (2 * eps)


def test_gradcheck_fails_a_supplied_gradient_with_one_entry_wrong(client: Any) -> None:
    point = {"w": COURSE_W, "row": 0}
    supplied = _gradients(client, point)
    supplied["dw3"] = -supplied["dw3"] * 50
    response = client.post("/gradcheck", json={**point, "gradients": supplied})
    assert response.status_code == 200
    body = response.json()
    assert body["verdict"] == "fail"
    assert body["weights"][2]["analytic"] == supplied["dw3"]
    worst = max(body["weights"], key=lambda row: row["relative_error"])
    assert worst["name"] == "w3"


def test_gradcheck_of_the_correct_supplied_gradient_passes(client: Any) -> None:
    point = {"w": COURSE_W, "row": 0}
    response = client.post("/gradcheck", json={**point, "gradients": _gradients(client, point)})
    assert response.json()["verdict"] == "pass"


def test_gradcheck_warns_between_the_thresholds(client: Any) -> None:
    point = {"w": COURSE_W, "row": 0}
    supplied = {k: v * (1 + 1e-5) for k, v in _gradients(client, point).items()}
    body = client.post("/gradcheck", json={**point, "gradients": supplied}).json()
    assert body["verdict"] == "warn"
    assert 1e-7 < body["difference"] < 1e-3


def test_gradcheck_of_two_zero_gradients_has_difference_zero_not_nan(client: Any) -> None:
    # tanh(e^5) and σ(40) saturate to exactly 1.0 and y = y_pred, so both gradients are 0;
    # eps = 2^-20 keeps 1 ± eps exact, so the numerical w9 derivative is exactly 0 too.
    point = {"w": [0, 0, 0, 0, 0, 5, 0, 40, 0], "x": [0.0] * 5, "y": 1.0, "eps": 2.0**-20}
    response = client.post("/gradcheck", json=point)
    assert response.status_code == 200
    body = response.json()
    assert [row["analytic"] for row in body["weights"]] == [0.0] * 9
    assert [row["numerical"] for row in body["weights"]] == [0.0] * 9
    assert body["difference"] == 0.0
    assert body["verdict"] == "pass"
    assert all(row["relative_error"] == 0.0 for row in body["weights"])


@pytest.mark.parametrize("eps", [0, -1e-7, "1e-7", None, 2.0])
def test_gradcheck_rejects_a_bad_eps(client: Any, eps: Any) -> None:
    response = client.post("/gradcheck", json={"w": COURSE_W, "row": 0, "eps": eps})
    assert response.status_code == 422
    assert "body.eps" in response.json()["detail"]


def test_gradcheck_rejects_a_partial_supplied_gradient(client: Any) -> None:
    response = client.post("/gradcheck", json={"w": COURSE_W, "row": 0, "gradients": {"dw1": 0.1}})
    assert response.status_code == 422
    assert "body.gradients.dw2" in response.json()["detail"]
