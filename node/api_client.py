"""A small synchronous client of the control API for the CLI (httpx over the Unix socket).

Every failure is a `CliError` with one line that says what to do.

The node a player talks to may be an attacker, so its answers are read within bounds: at
most `MAX_ANSWER_BYTES`, uncompressed (a compressed answer could inflate without bound), in
at most the read timeout overall (a byte at a time no longer holds the CLI), and parsed by
the one bounded JSON reader (`_bounded_json`: size and depth checked before parsing). The
error text a daemon sends is shown on one line, control characters escaped, shortened.

A request the daemon sent but whose outcome is not known yet (a 503 with ``"status":
"pending"``) is `OutcomeUnknownError`: never reported as a failure, since it may still
execute; it names the request to look up, and exits 75 (EX_TEMPFAIL).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx

from bitcraps.node._bounded_json import JsonRejected, loads_bounded
from bitcraps.node._cli_errors import CliError
from bitcraps.node._cookie import cookie_path, read_cookie, socket_path

__all__ = ["EXIT_OUTCOME_UNKNOWN", "MAX_ANSWER_BYTES", "MAX_ERROR_CHARS", "ApiClient",
           "OutcomeUnknownError"]

TIMEOUT = httpx.Timeout(5.0, connect=1.0)
MAX_ANSWER_BYTES = 16 << 20
MAX_ERROR_CHARS = 300
EXIT_OUTCOME_UNKNOWN = 75  # sysexits.h EX_TEMPFAIL: not failed, not done yet
_HEX = frozenset("0123456789abcdef")


class OutcomeUnknownError(CliError):
    """The daemon sent the request, but no quorum answered in time: it may still execute,
    and the daemon keeps retransmitting it."""

    def __init__(self, table_id: str, request_id: str) -> None:
        super().__init__(f"outcome unknown, still trying: check with `bitcraps request "
                         f"{table_id} {request_id}`", exit_status=EXIT_OUTCOME_UNKNOWN)
        self.table_id = table_id
        self.request_id = request_id


def _pending(payload: object) -> OutcomeUnknownError | None:
    """The error for an answer saying the request is pending, if it names it plainly."""
    if not isinstance(payload, dict) or payload.get("status") != "pending":
        return None
    table_id, request_id = payload.get("table_id"), payload.get("request_id")
    if (type(table_id) is str and 0 < len(table_id) <= 64 and _HEX.issuperset(table_id)
            and type(request_id) is str and len(request_id) == 32
            and _HEX.issuperset(request_id)):
        return OutcomeUnknownError(table_id, request_id)
    return None


class ApiClient:
    def __init__(self, data_dir: Path, socket: Path | None = None,
                 timeout: httpx.Timeout = TIMEOUT) -> None:
        self.data_dir = data_dir
        self.socket = socket if socket is not None else socket_path(data_dir)
        self.cookie = cookie_path(data_dir)
        self._timeout = timeout

    def get(self, path: str) -> Any:
        return self._request("GET", path, None)

    def post(self, path: str, body: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> Any:
        return self._request("POST", path, body, headers)

    def _no_daemon(self) -> CliError:
        return CliError(f"no bitcraps daemon is running at {self.socket} "
                        "(start it with `bitcraps daemon`)")

    def _token(self) -> str:
        try:
            return read_cookie(self.cookie)
        except FileNotFoundError:
            if not self.socket.exists():
                raise self._no_daemon() from None
            raise CliError(f"cookie file {self.cookie} is missing: is --data-dir right?") from None
        except PermissionError:
            raise CliError(f"cannot read the cookie file {self.cookie}: permission denied "
                           "(run as the daemon's user)") from None
        except (OSError, ValueError) as exc:
            raise CliError(f"cannot read the cookie file {self.cookie}: {exc}") from None

    def _request(self, method: str, path: str, body: dict[str, Any] | None,
                 headers: dict[str, str] | None = None) -> Any:
        if not self.socket.exists():
            raise self._no_daemon()
        token = self._token()
        if not os.access(self.socket, os.W_OK):
            raise CliError(f"permission denied on {self.socket} (run as the daemon's user)")
        status, raw = self._exchange(method, path, body, token, headers or {})
        try:
            payload = loads_bounded(raw, max_bytes=MAX_ANSWER_BYTES)
        except JsonRejected as exc:  # its message never quotes the answer
            payload, rejected = None, str(exc)
        else:
            rejected = ""
        if status == 401:
            raise CliError(f"the daemon refused the token in {self.cookie} "
                           "(stale cookie? is --data-dir the daemon's data dir?)")
        if 400 <= status <= 599:
            pending = _pending(payload)
            if pending is not None:
                raise pending
            message = payload.get("error") if isinstance(payload, dict) else None
            text = _one_line(message) if type(message) is str and message else f"HTTP {status}"
            told = isinstance(payload, dict) and payload.get("status") in (
                "not_executed", "lost")  # the table's answer, not the daemon's failure
            if status >= 500 and not told:
                raise CliError(f"the daemon failed: {text} (see its log)")
            raise CliError(text)
        if rejected:
            raise CliError(f"the daemon's answer to {path} is not usable JSON: {rejected}")
        if type(payload) is not dict:  # every answer of the control API is an object
            raise CliError(f"the daemon's answer to {path} is not a JSON object")
        return payload

    def _exchange(self, method: str, path: str, body: dict[str, Any] | None,
                  token: str, extra: dict[str, str]) -> tuple[int, bytes]:
        """The answer's status and body, read within bounds."""
        # Plain HTTP over a Unix socket: there is no TLS, so no CA bundle to load (building
        # the default SSL context costs ~30 ms, a tenth of the CLI's budget).
        transport = httpx.HTTPTransport(uds=str(self.socket), verify=False)
        headers = {**extra, "authorization": f"Bearer {token}", "accept-encoding": "identity"}
        try:
            with httpx.Client(transport=transport, base_url="http://bitcraps",
                              timeout=self._timeout) as client, \
                    client.stream(method, path, json=body, headers=headers) as response:
                return response.status_code, self._read_answer(response, path)
        except (httpx.ConnectError, httpx.RemoteProtocolError):
            raise self._no_daemon() from None
        except httpx.TimeoutException:
            raise CliError(f"the daemon at {self.socket} did not answer in time") from None
        except httpx.HTTPError as exc:
            raise CliError(f"cannot talk to the daemon at {self.socket}: {exc}") from None

    def _read_answer(self, response: httpx.Response, path: str) -> bytes:
        """At most `MAX_ANSWER_BYTES` of the body as sent, within the read timeout overall."""
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding != "identity":
            raise CliError(f"the daemon's answer to {path} is compressed, which this client "
                           "never asks for")
        deadline = time.monotonic() + (self._timeout.read or TIMEOUT.read or 5.0)
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_raw():
                size += len(chunk)
                if size > MAX_ANSWER_BYTES:
                    raise CliError(f"the daemon's answer to {path} is over "
                                   f"{MAX_ANSWER_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise CliError(f"the daemon at {self.socket} did not finish its answer "
                                   "in time")
                chunks.append(chunk)
        except httpx.TimeoutException:
            raise CliError(f"the daemon at {self.socket} did not finish its answer in time") \
                from None
        except httpx.HTTPError:
            raise CliError(f"the daemon's answer to {path} broke off") from None
        return b"".join(chunks)


def _one_line(text: str) -> str:
    """Untrusted text for one line of a terminal: control characters (newlines, escape
    sequences) escaped, at most `MAX_ERROR_CHARS` characters."""
    shown = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text[:MAX_ERROR_CHARS])
    return shown + ("..." if len(text) > MAX_ERROR_CHARS else "")
