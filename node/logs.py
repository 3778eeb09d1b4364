"""Structured logs: JSON lines on stdout (journald keeps them), one object per event.

Every line has ``timestamp`` (ISO 8601, UTC), ``level``, ``logger``, ``event`` and the
context bound with structlog's contextvars: ``node_id`` for everything a node's tasks log,
``table_id`` inside a table's task. Records from the standard `logging` module (libp2p,
hypercorn, ...) go through the same formatter, so they carry the same fields; libp2p's own
setup (which silences it) is undone, and it logs warnings and worse unless the level is debug.

The daemon calls ``configure_logging("info", node_id)`` once, in its root task before it starts
its services: trio tasks inherit the context of the task that spawned them, so several nodes in
one process each stamp their own ``node_id``.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
from typing import IO, Any

import structlog

__all__ = ["bind_table", "configure_logging", "get_logger"]

_HANDLER_NAME = "bitcraps-json"


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def configure_logging(level: str | int, node_id: str | None = None, *,
                      stream: IO[str] | None = None) -> None:
    """Send structlog and stdlib logging to ``stream`` (stdout) as JSON lines at ``level``
    and bind ``node_id`` in the current context."""
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # Frames' local variables may hold another party's bytes: never render them.
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)),
            structlog.processors.JSONRenderer(serializer=_dumps_safely, sort_keys=False),
        ],
    )
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if h.get_name() != _HANDLER_NAME] + [handler]
    root.setLevel(numeric)
    _route_library_loggers(max(numeric, logging.WARNING))
    if node_id is not None:
        structlog.contextvars.bind_contextvars(node_id=node_id)


MAX_RENDERED_VALUE_CHARS = 2048


def _dumps_safely(event: dict[str, Any], **options: Any) -> str:
    """JSON for one log line, whatever its values: a value that cannot be rendered (nested
    past the recursion limit, not JSON at all) is replaced by a short description of it, so
    a peer's bytes in a log call can neither raise inside logging nor flood the log."""
    fallback = options.pop("default", _describe)
    try:
        return json.dumps(event, default=fallback, **options)
    except (RecursionError, ValueError, TypeError):
        return json.dumps({key: _rendered(value, fallback) for key, value in event.items()},
                          default=_describe, **options)


def _rendered(value: Any, fallback: Any) -> Any:
    try:
        text = json.dumps(value, default=fallback)
    except (RecursionError, ValueError, TypeError):
        return _describe(value)
    return value if len(text) <= MAX_RENDERED_VALUE_CHARS else _describe(value)


def _describe(value: Any) -> str:
    size = len(value) if hasattr(value, "__len__") else None
    return f"<{type(value).__name__}{'' if size is None else f' of length {size}'}>"


def _route_library_loggers(libp2p_level: int) -> None:
    try:
        # libp2p configures its loggers when first imported (no handler, propagate=False: its
        # records vanish); import it now so that its setup cannot run after ours.
        importlib.import_module("libp2p")
    except ImportError:
        pass
    for name, level in [("libp2p", libp2p_level), ("hypercorn.error", logging.NOTSET),
                        ("hypercorn.access", logging.NOTSET)]:
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
        logger.setLevel(level)


def get_logger(name: str = "bitcraps") -> Any:
    return structlog.get_logger(name)


def bind_table(logger: Any, table_id: str | bytes) -> Any:
    """``logger`` with ``table_id`` (hex) bound; for a table task, also
    ``structlog.contextvars.bind_contextvars(table_id=...)`` reaches the libraries it calls."""
    return logger.bind(table_id=table_id.hex() if isinstance(table_id, bytes) else table_id)
