"""One settings object, read from BACKPROP_-prefixed environment variables.

Tested by api_tests/test_limits.py and tests/test_warmup.py.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.core.graphs.definition import Limits

if TYPE_CHECKING:
    from service.core.graphs.registry import Registry

_LIMITS = Limits()  # the one home of the graph limits' defaults
# The request line and headers together, at most (431 beyond): the server's buffer cap
# (service/cli.py) and the app's own check (service/api/middleware/context.py).
MAX_HEADER_BYTES = 64 * 1024


class Settings(BaseSettings):
    """Limits and switches of one service process."""

    model_config = SettingsConfigDict(env_prefix="BACKPROP_", extra="ignore")

    max_body_bytes: int = Field(8 * 1024 * 1024, description="Largest request body accepted.")
    parse_in_child_above_bytes: int = Field(
        1024 * 1024,
        description="Training bodies larger than this are parsed in a child process, off the "
        "event loop (a 200,000-row dataset holds the GIL for about a second).",
    )
    max_dataset_rows: int = Field(200_000, description="Most rows of a custom training dataset.")
    max_epochs: int = Field(10_000, description="Most epochs of one training run.")
    max_total_steps: int = Field(
        50_000_000, description="Most rows x epochs x configurations in one request."
    )
    max_grade_batch: int = Field(1_000, description="Most submissions in one grade batch.")
    max_concurrent_trainings: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description="Trainings one process runs at once (default: the CPU count).",
    )
    max_queued_trainings: int = Field(
        64, ge=0, description="Trainings that may wait for a turn; beyond, requests get 503."
    )
    numba_cache_dir: str | None = Field(
        None, description="Folder of numba's compiled-kernel cache (sets NUMBA_CACHE_DIR)."
    )
    graphs_dir: str | None = Field(
        None,
        description="Folder of extra graph presets, one JSON definition per file (stem = name); "
        "a bad file keeps /ready at 503 and the log names it.",
    )
    graph_cache_max_bytes: int = Field(
        256 * 2**20,
        ge=2**20,
        description="Bytes the compiled graphs may take on disk (under the numba cache folder's "
        "'graphs'); least recently used graphs are evicted beyond it.",
    )
    graph_cache_loaded: int = Field(
        64, ge=1, description="Compiled graphs kept loaded in memory (least recently used go)."
    )
    max_graph_nodes: int = Field(_LIMITS.nodes, ge=1, description="Most nodes of a graph.")
    max_graph_operations: int = Field(
        _LIMITS.operations, ge=1, description="Most operations of a graph, all nodes together."
    )
    max_graph_weights: int = Field(_LIMITS.weights, ge=1, description="Most weights of a graph.")
    max_graph_inputs: int = Field(_LIMITS.inputs, ge=1, description="Most inputs of a graph.")
    max_graph_depth: int = Field(
        _LIMITS.depth, ge=1, le=200, description="Deepest nesting of one expression."
    )
    max_graph_expression_length: int = Field(
        _LIMITS.expression_length, ge=1, description="Longest expression, in characters."
    )
    max_graph_exponent: float = Field(
        _LIMITS.exponent, gt=0, description="Largest |k| of a constant exponent x**k."
    )
    api_keys: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        (), description="Comma-separated bearer keys; empty leaves the service open."
    )
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="Comma-separated origins allowed by CORS; empty turns CORS off."
    )
    access_log: bool = Field(True, description="One JSON line per request on stderr.")
    request_timeout_s: float = Field(
        30.0,
        ge=0.001,
        le=60.0,
        description="Seconds a client has to send a request's headers (else the connection is "
        "closed) and then its body (else 408); idle keep-alive connections close after it too. "
        "At most 60 (the server's ceiling for the header timeout).",
    )
    # 4096: a connection costs at most ~66 KiB while it sends headers (the 64 KiB cap; measured
    # +62 KiB RSS each with 60 KiB sent, bench/slow_clients.py), so 4096 of them cost ~264 MiB at
    # worst, about one more process; and 4096 is 100x what legitimate clients hold (nginx keeps
    # 32 upstream connections per worker; trainings queue at 64). Below it, slow clients cost a
    # fast one nothing (2,000 byte-a-second headers: its p99 1.3 -> 5.8 ms); above it, new
    # connections wait in the accept queue until slow ones are cut off (at most the timeout).
    max_connections: int = Field(
        4096,
        ge=1,
        description="Connections one server process holds at once (each at most ~66 KiB while "
        "its headers arrive); more wait in the accept queue until one is freed.",
    )
    forwarded_allow_ips: Annotated[tuple[str, ...], NoDecode] = Field(
        ("127.0.0.1",),
        description="Comma-separated proxy addresses (or '*') whose X-Forwarded-For and "
        "X-Forwarded-Proto are trusted; empty trusts none.",
    )

    def graph_registry(self) -> Registry:
        """The graphs these settings serve: presets, the limits for inline definitions and the
        compiled cache (one Registry per configuration, shared by the app and the warm-up)."""
        from service.core.graphs.registry import default_cache_root, registry  # numba: lazily

        return registry(
            self.graph_limits(),
            self.graphs_dir,
            default_cache_root(self.numba_cache_dir),
            self.graph_cache_max_bytes,
            self.graph_cache_loaded,
        )

    def graph_limits(self) -> Limits:
        """The BACKPROP_MAX_GRAPH_* settings as the definition's Limits."""
        return Limits(
            nodes=self.max_graph_nodes,
            operations=self.max_graph_operations,
            weights=self.max_graph_weights,
            inputs=self.max_graph_inputs,
            depth=self.max_graph_depth,
            expression_length=self.max_graph_expression_length,
            exponent=self.max_graph_exponent,
        )

    @field_validator("api_keys", "cors_origins", "forwarded_allow_ips", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests override this dependency or clear its cache."""
    return Settings()


def settings_of(app: Any) -> Settings:
    """The settings an app runs with: get_settings, or a test's dependency override of it."""
    return app.dependency_overrides.get(get_settings, get_settings)()  # type: ignore[no-any-return]
