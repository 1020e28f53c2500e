"""Prometheus metrics, one registry per app instance (tests build many apps)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response

BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self, *, version: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "fisioflow_http_requests",
            "HTTP requests by route template, method and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "fisioflow_http_request_duration_seconds",
            "HTTP request latency by route template",
            ["method", "route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.pool_in_use = Gauge(
            "fisioflow_db_pool_connections_in_use",
            "Database connections checked out of the application pool",
            registry=self.registry,
        )
        Info("fisioflow_build", "Build information", registry=self.registry).info(
            {"version": version}
        )

    def observe(self, *, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def watch_pool(self, checked_out: Callable[[], int]) -> None:
        self.pool_in_use.set_function(checked_out)

    async def endpoint(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
