"""The optional metrics listener: Prometheus text at ``/metrics`` on a TCP port, no token.

The control API's ``/metrics`` needs the bearer token, which changes at every start and is
readable only by the node's user, so Prometheus cannot scrape it. With ``[metrics] listen =
"127.0.0.1:9464"`` the node also serves its registry on that address, and nothing else: no
control call, no table, no player data beyond what the metrics count. It is off by default;
a port alone listens on localhost. A port another process holds stops the start with one
line (`ApiServerError`, the daemon's ``bitcraps: error:`` and exit 2), before READY=1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from .api_server import ApiServerError, serve_api

if TYPE_CHECKING:
    from trio_typing import TaskStatus

__all__ = ["metrics_app", "serve_metrics"]


def metrics_app(registry: CollectorRegistry) -> Any:
    """An ASGI app answering ``GET /metrics`` (and HEAD) from `registry`; 404 elsewhere."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    async def not_found(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("only /metrics is served here\n", status_code=404)

    return Starlette(routes=[Route("/metrics", metrics, methods=["GET"])],
                     exception_handlers={404: not_found})


async def serve_metrics(registry: CollectorRegistry, host: str, port: int, *,
                        shutdown: trio.Event,
                        task_status: TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve `registry` on ``host:port`` until `shutdown`; started with its binds
    (``http://127.0.0.1:9464``: port 0 picks a free one)."""
    try:
        await serve_api(metrics_app(registry), unix_socket=None, tcp=(host, port),
                        shutdown=shutdown, graceful_timeout_s=1.0, task_status=task_status)
    except ApiServerError as exc:
        raise ApiServerError(f"metrics.listen: {exc}") from None
