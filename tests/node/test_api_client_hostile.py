"""The CLI's API client against a hostile node: a real HTTP server on the Unix socket where
the daemon's would be, answering deep, huge, endless, compressed, dripping or ill-shaped
answers. Each is one ``bitcraps: error:`` line, read within bounds, never an internal error,
a hang or a blown stack."""

from __future__ import annotations

import gzip
import http.server
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from bitcraps.node._cli_errors import CliError
from bitcraps.node._cookie import cookie_path, socket_path, write_cookie
from bitcraps.node.api_client import MAX_ANSWER_BYTES, MAX_ERROR_CHARS, ApiClient
from bitcraps.node.cli import main

DEEP = b"[" * 200_000 + b"]" * 200_000
Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


def answer(status: int, body: bytes, **headers: str) -> Handler:
    def send(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(body)))
        for name, value in headers.items():
            handler.send_header(name.replace("_", "-"), value)
        handler.end_headers()
        handler.wfile.write(body)
    return send


def endless(handler: http.server.BaseHTTPRequestHandler) -> None:
    """A body without end: `[0,0,0,...` in chunks, until the client hangs up."""
    handler.send_response(200)
    handler.send_header("content-type", "application/json")
    handler.end_headers()  # HTTP/1.0: the body runs until the connection closes
    handler.wfile.write(b"[")
    chunk = b"0," * 32768
    for _ in range(4 * MAX_ANSWER_BYTES // len(chunk)):
        handler.wfile.write(chunk)


def drip(handler: http.server.BaseHTTPRequestHandler) -> None:
    """One byte at a time, each well within the read timeout, for far longer than it."""
    handler.send_response(200)
    handler.end_headers()
    for _ in range(100):
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(0.05)  # the hostile server's pace, not the test's wait


ANSWERS: dict[str, Handler] = {
    "/deep": answer(200, DEEP),
    "/deep-object": answer(200, b'{"a":' * 100_000 + b"1" + b"}" * 100_000),
    "/huge": answer(200, b"[" + b"0," * (MAX_ANSWER_BYTES // 2) + b"0]"),
    "/endless": endless,
    "/bomb": answer(200, gzip.compress(b"[" + b" " * (64 << 20) + b"]"),
                    content_encoding="gzip"),
    "/digits": answer(200, b"1" * 100_000),
    "/not-json": answer(200, b"\xff\xfe<html>"),
    "/list": answer(200, b"[1, 2]"),
    "/deep-error": answer(500, DEEP),
    "/escape-error": answer(400, b'{"error": "bad\\n\\u001b[2J\\u001b[31mowned\\u202e' +
                            b"x" * 5000 + b'"}'),
    "/fine": answer(200, b'{"node_id": "ok"}'),
    "/drip": drip,
}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        try:
            ANSWERS[self.path](self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading: what it should do

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[Path]:
    """A data dir whose control socket is served by the hostile server."""
    data_dir = tmp_path / "d"
    data_dir.mkdir()
    write_cookie(cookie_path(data_dir))
    server = _Server(str(socket_path(data_dir)), _Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield data_dir
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("path", "error"), [
    ("/deep", "nested more than 32 levels deep"),
    ("/deep-object", "nested more than 32 levels deep"),
    ("/huge", f"is over {MAX_ANSWER_BYTES} bytes"),
    ("/endless", f"is over {MAX_ANSWER_BYTES} bytes"),
    ("/bomb", "is compressed"),
    ("/digits", "a number has too many digits"),
    ("/not-json", "not valid JSON"),
    ("/list", "is not a JSON object"),
    ("/deep-error", "the daemon failed: HTTP 500 (see its log)"),
])
def test_a_hostile_answer_is_one_error(hostile: Path, path: str, error: str) -> None:
    with pytest.raises(CliError) as caught:
        ApiClient(hostile).get(path)
    assert error in str(caught.value)
    assert len(str(caught.value)) < 400 and "\n" not in str(caught.value)


def test_an_answer_dripped_a_byte_at_a_time_is_cut_at_the_read_timeout(hostile: Path) -> None:
    client = ApiClient(hostile, timeout=httpx.Timeout(0.5, connect=1.0))
    started = time.monotonic()
    with pytest.raises(CliError, match="did not finish its answer in time"):
        client.get("/drip")
    assert time.monotonic() - started < 3.0  # the server would drip for 5 s


def test_the_daemons_error_text_is_one_short_line_without_control_characters(
        hostile: Path) -> None:
    with pytest.raises(CliError) as caught:
        ApiClient(hostile).get("/escape-error")
    text = str(caught.value)
    assert text.startswith("bad\\n\\x1b[2J\\x1b[31mowned\\u202e")
    # 300 characters shown: a newline, two escapes and a bidi override escaped, then "..."
    assert text.isprintable() and len(text) == MAX_ERROR_CHARS + 1 + 3 + 3 + 5 + len("...")


def test_a_well_formed_answer_still_reads(hostile: Path) -> None:
    assert ApiClient(hostile).get("/fine") == {"node_id": "ok"}


def test_the_cli_prints_one_error_line(hostile: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ANSWERS, "/v1/status", ANSWERS["/deep"])
    assert main(["status", "--data-dir", str(hostile)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "bitcraps: error: the daemon's answer to /v1/status is not usable JSON: "
        "JSON nested more than 32 levels deep"]
