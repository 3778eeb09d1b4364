"""The control API: a Starlette app over any `NodeControl` (served by `api_server.serve_api`).

Routes (JSON in and out; every route needs ``Authorization: Bearer <token>``)::

    GET  /v1/identity                      control.identity()
    GET  /v1/status                        control.status()
    GET  /v1/peers                         {"peers": control.peers()}
    POST /v1/peers                         {"address": multiaddr with /p2p/<peer id>}
                                           -> control.connect_peer(): dialed now
    GET  /v1/tables                        {"tables": control.tables()}
    POST /v1/tables                        {"game": str, "replicas": int, "min_bet"?: int,
                                           "max_bet"?: int, "seats"?: int,
                                           "shooter_timeout_s"?: int}
                                           -> control.create_table(); 201, with
                                           "tolerates_faulty_replicas" (f) and, when
                                           f = 0, a "warning" (`fault_tolerance`)
    GET  /v1/lobby                         {"tables": control.lobby_tables()}
    GET  /v1/config                        control.config_show()
    POST /v1/config                        {"key": str, "value": str} -> control.config_set()
    POST /v1/tables/{table_id}/requests    {"operation": hex} -> control.submit(), or
                                           {"operations": [hex | {"operation": hex,
                                           "id"?: key}, ...]} (at most 1024)
                                           -> {"results": control.submit_many()}: one
                                           outcome per operation, 200 even if some failed
    GET  /v1/tables/{table_id}/requests/{request_id}[?wait_s=N]
                                           control.request_status(): pending | executed |
                                           not_executed | lost, waiting up to N s (<= 60)
    GET  /v1/tables/{table_id}             control.table_game(): the table and, for craps,
                                           bets, point, balances, last rolls
    POST /v1/tables/{table_id}/actions     {"action": ...} -> control.table_act() (craps)
    POST /v1/tables/{table_id}/roll        control.table_roll(): as the shooter, until thrown
    GET  /v1/tables/{table_id}/rolls/{n}   control.table_roll_record(): proofs of a roll
    GET  /v1/tables/{table_id}/rolls/{n}/animation   its throw replayed: frames to draw
    GET  /v1/tables/{table_id}/dice-key    control.table_dice_key(): f+1 replicas' word on it
    POST /v1/tables/{table_id}/cashout     {"amount"?: int, "leave_bets"?: bool}
                                           -> control.table_cash_out(), with a receipt
                                           signed by 2f+1 replicas and what stays on the
                                           table; all chips with bets working is a 409
                                           unless "leave_bets" (`cash_out_bets`)
    POST /v1/stop                          control.request_stop(); 202 {"stopping": true}
    GET  /metrics                          Prometheus text from control.metrics_registry

``/metrics`` needs the token too unless ``metrics_public=True``: the same app may listen on
a TCP port that is reachable from outside, and metrics tell who plays where. A Prometheus
scraper sends the token with ``authorization: {credentials_file: <cookie>}``.

A request that commits (``requests``, ``actions``) takes an ``Idempotency-Key`` header (1 to
255 printable ASCII characters; in a batch, each operation's ``"id"``): a retry with the
same key is answered with the first request's outcome, never executed twice (see
`request_ledger` for how long keys are kept). A call whose request was sent but not
answered in time is a 503 whose body carries ``"status": "pending"`` and the
``request_id`` to look up (`request_outcomes`).

Errors are ``{"error": "<message>"}`` (and a `ControlError`'s details): 401 for a missing or
wrong token, 400 for a malformed body (the message names the field), 404/405 for unknown
routes, 413 for a body over ``max_body_bytes``, a `ControlError`'s own status, and 500
``internal error`` for anything else (logged once with its traceback, which never reaches
the client).

Input is checked before any of it is used: a body is at most ``max_body_bytes`` and
``MAX_JSON_DEPTH`` levels deep before it is parsed; every integer field has a range (chips
in ``[1, 2**62]``, table limits in ``TABLE_LIMITS``); path parameters are ASCII (a table id
is hex digits, a roll number ``[0-9]+``), so ``/rolls/\u0663`` is a 400, not roll 3.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitcraps.node._bounded_json import MAX_JSON_DEPTH, JsonRejected, loads_bounded
from bitcraps.node._control import ControlError, NodeControl
from bitcraps.node.fault_tolerance import fault_tolerance
from bitcraps.node.game_hosting import MAX_SHOOTER_TIMEOUT_S

__all__ = ["MAX_BODY_BYTES", "MAX_CHIPS", "TABLE_LIMITS", "build_app"]

MAX_BODY_BYTES = 1 << 20
MAX_OPERATIONS = 1024
MAX_CHIPS = 1 << 62  # the most chips on a table at once (the games' ledger)
MAX_ROLL_DIGITS = 19
MAX_KEY_CHARS = 255  # an idempotency key
MAX_WAIT_S = 60  # GET .../requests/{id}?wait_s=
_KEY_CHARS = frozenset(chr(c) for c in range(0x21, 0x7f))
MAX_ADDRESS_CHARS = 1024  # a multiaddr for `peers connect`
# POST /v1/tables: each integer field's range (replicas as the charter allows them).
TABLE_LIMITS = {"replicas": (1, 64), "min_bet": (0, MAX_CHIPS), "max_bet": (0, MAX_CHIPS),
                "seats": (1, 1024), "shooter_timeout_s": (1, MAX_SHOOTER_TIMEOUT_S)}
CRAPS_MAX_SEATS = 64  # a craps table seats at most this many players (its TableConfig)
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")

log = structlog.get_logger("bitcraps.node.api")

Handler = Callable[[Request], Awaitable[Response]]


class _BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _hex_operation(text: str, name: str) -> bytes:
    if len(text) % 2 or not _HEX_DIGITS.issuperset(text):  # fromhex skips whitespace
        raise _BadRequest(f"field {name!r} must hold hex strings")
    return bytes.fromhex(text)


def _int_in(body: dict[str, Any], name: str, low: int, high: int) -> int:
    """An integer field within [low, high] (a JSON bool is not an integer)."""
    if name not in body:
        raise _BadRequest(f"field {name!r} is missing")
    value = body[name]
    if type(value) is not int:
        raise _BadRequest(f"field {name!r} must be an integer")
    if not low <= value <= high:
        raise _BadRequest(f"field {name!r} must be between {low} and {high}")
    return value


def _idempotency_key(value: object, name: str) -> str:
    if (type(value) is not str or not 0 < len(value) <= MAX_KEY_CHARS
            or not _KEY_CHARS.issuperset(value)):
        raise _BadRequest(f"{name} must be 1 to {MAX_KEY_CHARS} printable ASCII characters "
                          "without spaces")
    return value


def _header_key(request: Request) -> str | None:
    """The ``Idempotency-Key`` header, checked; None without one."""
    value = request.headers.get("idempotency-key")
    return None if value is None else _idempotency_key(value, "header 'Idempotency-Key'")


def _batch_entry(entry: object) -> tuple[bytes, str | None]:
    """One operation of a batch: a hex string, or {"operation": hex, "id"?: key}."""
    if isinstance(entry, str):
        return _hex_operation(entry, "operations"), None
    if not isinstance(entry, dict) or not isinstance(entry.get("operation"), str) or (
            set(entry) - {"operation", "id"}):
        raise _BadRequest("field 'operations' must hold hex strings or objects "
                          "{\"operation\": hex, \"id\": key}")
    key = _idempotency_key(entry["id"], "an operation's 'id'") if "id" in entry else None
    return _hex_operation(entry["operation"], "operations"), key


def _request_id(request: Request) -> str:
    """The `{request_id}` path parameter: 32 hex digits."""
    request_id: str = request.path_params["request_id"]
    if len(request_id) != 32 or not _HEX_DIGITS.issuperset(request_id):
        raise _BadRequest("a request id is 32 hex digits", 404)
    return request_id.lower()


def _table_id(request: Request) -> str:
    """The `{table_id}` path parameter: hex digits only (an id or a prefix of one)."""
    table_id: str = request.path_params["table_id"]
    if not table_id or len(table_id) > 64 or not _HEX_DIGITS.issuperset(table_id):
        raise _BadRequest("a table id is hex digits (the id, or a unique prefix of it)", 404)
    return table_id


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def build_app(
    control: NodeControl,
    token: str,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    metrics_public: bool = False,
) -> Starlette:
    """The control API app for ``control``, accepting ``token`` as the bearer token."""
    if not token:
        raise ValueError("the API token must not be empty")
    expected = f"Bearer {token}".encode()

    def authorized(request: Request) -> bool:
        given = request.headers.get("authorization", "").encode("utf-8", "surrogateescape")
        return hmac.compare_digest(given, expected)

    def endpoint(handler: Handler, *, public: bool = False) -> Handler:
        async def wrapped(request: Request) -> Response:
            if not public and not authorized(request):
                return _error(
                    401, "missing or wrong bearer token (read it from the node's cookie file)",
                    {"www-authenticate": "Bearer"},
                )
            try:
                return await handler(request)
            except _BadRequest as exc:
                return _error(exc.status, str(exc))
            except ControlError as exc:
                if exc.details:
                    return JSONResponse({**exc.details, "error": str(exc)},
                                        status_code=exc.status)
                return _error(exc.status, str(exc))
            except Exception:
                log.exception("api.internal_error", method=request.method, path=request.url.path)
                return _error(500, "internal error")

        return wrapped

    async def read_json(request: Request) -> dict[str, Any]:
        length = request.headers.get("content-length")
        if length is not None and (not (length.isascii() and length.isdigit())
                                   or int(length) > max_body_bytes):
            raise _BadRequest(f"request body over {max_body_bytes} bytes", 413)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body_bytes:
                raise _BadRequest(f"request body over {max_body_bytes} bytes", 413)
        try:
            value = loads_bounded(bytes(body), max_bytes=max_body_bytes,
                                  max_depth=MAX_JSON_DEPTH)
        except JsonRejected as exc:
            raise _BadRequest(f"request body: {exc}") from None
        if not isinstance(value, dict):
            raise _BadRequest("request body must be a JSON object")
        return value

    def field(body: dict[str, Any], name: str, kind: type, what: str) -> Any:
        if name not in body:
            raise _BadRequest(f"field {name!r} is missing")
        value = body[name]
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise _BadRequest(f"field {name!r} must be {what}")
        return value

    async def identity(request: Request) -> Response:
        return JSONResponse(control.identity())

    async def status(request: Request) -> Response:
        return JSONResponse(control.status())

    async def peers(request: Request) -> Response:
        return JSONResponse({"peers": control.peers()})

    async def connect_peer(request: Request) -> Response:
        body = await read_json(request)
        address = field(body, "address", str, "a multiaddr")
        if not 0 < len(address) <= MAX_ADDRESS_CHARS:
            raise _BadRequest(f"field 'address' must be 1 to {MAX_ADDRESS_CHARS} characters")
        return JSONResponse(await control.connect_peer(address))

    async def tables(request: Request) -> Response:
        return JSONResponse({"tables": control.tables()})

    async def create_table(request: Request) -> Response:
        body = await read_json(request)
        game = field(body, "game", str, "a game name")
        replicas = _int_in(body, "replicas", *TABLE_LIMITS["replicas"])
        limits = {name: _int_in(body, name, *TABLE_LIMITS[name])
                  for name in ("min_bet", "max_bet", "seats", "shooter_timeout_s")
                  if name in body}
        if limits.get("min_bet", 1) > limits.get("max_bet", 1000):
            raise _BadRequest("field 'min_bet' must not be above 'max_bet'")
        if game == "craps" and limits.get("seats", 8) > CRAPS_MAX_SEATS:
            raise _BadRequest(f"field 'seats' must be between 1 and {CRAPS_MAX_SEATS} for "
                              "craps")
        created = await control.create_table(game, replicas, **limits)
        return JSONResponse({**created, **fault_tolerance(replicas)}, status_code=201)

    async def lobby(request: Request) -> Response:
        return JSONResponse({"tables": control.lobby_tables()})

    async def config_show(request: Request) -> Response:
        return JSONResponse(control.config_show())

    async def config_set(request: Request) -> Response:
        body = await read_json(request)
        key = field(body, "key", str, "a string")
        value = field(body, "value", str, "a string")
        if not key:
            raise _BadRequest("field 'key' must not be empty")
        return JSONResponse(await control.config_set(key, value))

    async def submit(request: Request) -> Response:
        body = await read_json(request)
        table_id = _table_id(request)
        key = _header_key(request)
        if "operations" in body:
            entries = field(body, "operations", list, "a list of operations")
            if not 1 <= len(entries) <= MAX_OPERATIONS:
                raise _BadRequest(f"field 'operations' must hold 1..{MAX_OPERATIONS} "
                                  "operations")
            if key is not None:
                raise _BadRequest("a batch takes a key per operation (its \"id\"), not the "
                                  "header 'Idempotency-Key'")
            operations, keys = zip(*(_batch_entry(entry) for entry in entries), strict=True)
            return JSONResponse({"results": await control.submit_many(
                table_id, list(operations), list(keys))})
        operation_hex = field(body, "operation", str, "a hex string")
        operation = _hex_operation(operation_hex, "operation")
        return JSONResponse(await control.submit(table_id, operation, key))

    async def request_status(request: Request) -> Response:
        wait = request.query_params.get("wait_s", "0")
        if not (wait.isascii() and wait.isdigit() and len(wait) <= 2
                and int(wait) <= MAX_WAIT_S):
            raise _BadRequest(f"wait_s must be a whole number of seconds, 0 to {MAX_WAIT_S}")
        return JSONResponse(await control.request_status(
            _table_id(request), _request_id(request), float(wait)))

    async def table_game(request: Request) -> Response:
        return JSONResponse(control.table_game(_table_id(request)))

    async def table_act(request: Request) -> Response:
        body = await read_json(request)
        field(body, "action", str, "an action name")
        return JSONResponse(await control.table_act(_table_id(request), body,
                                                    _header_key(request)))

    async def table_roll(request: Request) -> Response:
        return JSONResponse(await control.table_roll(_table_id(request)))

    def roll_number(request: Request) -> int:
        number: str = request.path_params["roll"]
        # str.isdigit() and int() take any script's digits ("\u0663" is 3): ASCII only
        if not number.isascii() or not number.isdigit() or len(number) > MAX_ROLL_DIGITS:
            raise _BadRequest("a roll number is a non-negative integer in ASCII digits")
        return int(number)

    async def table_roll_record(request: Request) -> Response:
        return JSONResponse(control.table_roll_record(_table_id(request),
                                                      roll_number(request)))

    async def table_dice_key(request: Request) -> Response:
        return JSONResponse(await control.table_dice_key(_table_id(request)))

    async def table_roll_animation(request: Request) -> Response:
        return JSONResponse(await control.table_roll_animation(
            _table_id(request), roll_number(request)))

    async def table_cash_out(request: Request) -> Response:
        body = await read_json(request)
        amount = _int_in(body, "amount", 1, MAX_CHIPS) if "amount" in body else None
        leave_bets = field(body, "leave_bets", bool, "true or false") if (
            "leave_bets" in body) else False
        return JSONResponse(await control.table_cash_out(_table_id(request), amount,
                                                         leave_bets=leave_bets))

    async def stop(request: Request) -> Response:
        control.request_stop()
        return JSONResponse({"stopping": True}, status_code=202)

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(control.metrics_registry),
                        media_type=CONTENT_TYPE_LATEST)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _error(exc.status_code, exc.detail, exc.headers)

    routes = [
        Route("/v1/identity", endpoint(identity), methods=["GET"]),
        Route("/v1/status", endpoint(status), methods=["GET"]),
        Route("/v1/peers", endpoint(peers), methods=["GET"]),
        Route("/v1/peers", endpoint(connect_peer), methods=["POST"]),
        Route("/v1/tables", endpoint(tables), methods=["GET"]),
        Route("/v1/tables", endpoint(create_table), methods=["POST"]),
        Route("/v1/lobby", endpoint(lobby), methods=["GET"]),
        Route("/v1/config", endpoint(config_show), methods=["GET"]),
        Route("/v1/config", endpoint(config_set), methods=["POST"]),
        Route("/v1/tables/{table_id}/requests", endpoint(submit), methods=["POST"]),
        Route("/v1/tables/{table_id}/requests/{request_id}", endpoint(request_status),
              methods=["GET"]),
        Route("/v1/tables/{table_id}", endpoint(table_game), methods=["GET"]),
        Route("/v1/tables/{table_id}/actions", endpoint(table_act), methods=["POST"]),
        Route("/v1/tables/{table_id}/roll", endpoint(table_roll), methods=["POST"]),
        Route("/v1/tables/{table_id}/rolls/{roll}", endpoint(table_roll_record),
              methods=["GET"]),
        Route("/v1/tables/{table_id}/rolls/{roll}/animation", endpoint(table_roll_animation),
              methods=["GET"]),
        Route("/v1/tables/{table_id}/dice-key", endpoint(table_dice_key), methods=["GET"]),
        Route("/v1/tables/{table_id}/cashout", endpoint(table_cash_out), methods=["POST"]),
        Route("/v1/stop", endpoint(stop), methods=["POST"]),
        Route("/metrics", endpoint(metrics, public=metrics_public), methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: http_error})
