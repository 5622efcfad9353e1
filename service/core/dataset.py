"""The course's 506-row dataset, shipped inside the package as CSV (SPEC §2).

Tested by api_tests/test_dataset.py and tests/core/test_graph.py.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

COLUMNS = ("f1", "f2", "f3", "f4", "f5", "y")
FILENAME = "backprop_data.csv"
BUILTIN_ROWS = 506


@dataclass(frozen=True)
class Dataset:
    """Features X (n, 5), targets y (n,), and the sha256 of the file they came from."""

    X: np.ndarray
    y: np.ndarray
    sha256: str

    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self.X.shape[0])


def read_csv_bytes() -> bytes:
    """The shipped CSV file, byte for byte."""
    return resources.files("service.data").joinpath(FILENAME).read_bytes()


@lru_cache(maxsize=1)
def load_dataset() -> Dataset:
    """Parse the shipped CSV once; every value reads back bit-exactly."""
    raw = read_csv_bytes()
    lines = raw.decode("ascii").splitlines()
    if tuple(lines[0].split(",")) != COLUMNS:
        raise ValueError(f"unexpected header in {FILENAME}: {lines[0]!r}")
    data = np.array([[float(v) for v in line.split(",")] for line in lines[1:]], dtype=np.float64)
    X = np.ascontiguousarray(data[:, :5])
    y = np.ascontiguousarray(data[:, 5])
    X.setflags(write=False)
    y.setflags(write=False)
    return Dataset(X=X, y=y, sha256=hashlib.sha256(raw).hexdigest())
