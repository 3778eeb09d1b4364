"""Errors that a ``bitcraps`` subcommand raises to report a problem to the user."""

from __future__ import annotations

__all__ = ["CliError"]


class CliError(Exception):
    """A user-facing failure: bad input, missing file, unreachable node.

    The CLI prints ``bitcraps: error: <message>`` to stderr and exits with status 2,
    without a traceback. Raise it with a message that tells the user what to do.
    ``exit_status`` sets another status (the daemon: 1 when a running node fails, which a
    service manager may restart, unlike 2).
    """

    def __init__(self, message: str, exit_status: int = 2) -> None:
        super().__init__(message)
        self.exit_status = exit_status
