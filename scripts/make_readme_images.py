"""Regenerate the README's pictures from the API itself: `python scripts/make_readme_images.py`.

Writes docs/images/loss_curves.png, loss_curves_log.png (the course's sgd, momentum and adam,
20 epochs, seed 0), graph.png (the graph at the course's point: w = [0.1]*9, row 0) and
graph_cs231n.png (the CS231n lecture 4 neuron at its published point, laid out from its structure).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "images"
COURSE_POINT = {"w": [0.1] * 9, "row": 0}
CS231N_POINT = {"graph": "cs231n_neuron", "w": [2.0, -3.0, -3.0], "x": [-1.0, -2.0], "y": 0.0}
PNG = {"Accept": "image/png"}
IMAGES = {
    "loss_curves.png": ("/compare/plot", {}),
    "loss_curves_log.png": ("/compare/plot?log=true", {}),
    "graph.png": ("/graph", COURSE_POINT),
    "graph_cs231n.png": ("/graph", CS231N_POINT),
}


def main() -> None:
    """Ask the in-process app for each picture and write it."""
    sys.path.insert(0, str(ROOT))
    from fastapi.testclient import TestClient

    from service.main import create_app

    TARGET.mkdir(parents=True, exist_ok=True)
    with TestClient(create_app()) as client:
        for name, (path, body) in IMAGES.items():
            response = client.post(path, json=body, headers=PNG)
            response.raise_for_status()
            (TARGET / name).write_bytes(response.content)
            print(f"wrote {(TARGET / name).relative_to(ROOT)} ({len(response.content)} bytes)")


if __name__ == "__main__":
    main()
