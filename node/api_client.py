"""A small synchronous client of the control API for the CLI (httpx over the Unix socket).

Every failure is a `CliError` with one line that says what to do.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

from bitcraps.node._cli_errors import CliError
from bitcraps.node._cookie import cookie_path, read_cookie, socket_path

__all__ = ["ApiClient"]

TIMEOUT = httpx.Timeout(5.0, connect=1.0)


class ApiClient:
    def __init__(self, data_dir: Path, socket: Path | None = None,
                 timeout: httpx.Timeout = TIMEOUT) -> None:
        self.data_dir = data_dir
        self.socket = socket if socket is not None else socket_path(data_dir)
        self.cookie = cookie_path(data_dir)
        self._timeout = timeout

    def get(self, path: str) -> Any:
        return self._request("GET", path, None)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._request("POST", path, body)

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

    def _request(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        if not self.socket.exists():
            raise self._no_daemon()
        token = self._token()
        if not os.access(self.socket, os.W_OK):
            raise CliError(f"permission denied on {self.socket} (run as the daemon's user)")
        # Plain HTTP over a Unix socket: there is no TLS, so no CA bundle to load (building
        # the default SSL context costs ~30 ms, a tenth of the CLI's budget).
        transport = httpx.HTTPTransport(uds=str(self.socket), verify=False)
        try:
            with httpx.Client(transport=transport, base_url="http://bitcraps",
                              timeout=self._timeout) as client:
                response = client.request(method, path, json=body,
                                           headers={"authorization": f"Bearer {token}"})
        except (httpx.ConnectError, httpx.RemoteProtocolError):
            raise self._no_daemon() from None
        except httpx.TimeoutException:
            raise CliError(f"the daemon at {self.socket} did not answer in time") from None
        except httpx.HTTPError as exc:
            raise CliError(f"cannot talk to the daemon at {self.socket}: {exc}") from None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code == 401:
            raise CliError(f"the daemon refused the token in {self.cookie} "
                           "(stale cookie? is --data-dir the daemon's data dir?)")
        if response.is_error:
            message = payload.get("error") if isinstance(payload, dict) else None
            text = str(message) if message else f"HTTP {response.status_code}"
            if response.status_code >= 500:
                raise CliError(f"the daemon failed: {text} (see its log)")
            raise CliError(text)
        if payload is None:
            raise CliError(f"the daemon sent a response that is not JSON ({path})")
        return payload
