"""The errors of the signature backends (no OpenCL import here: the CPU path needs none)."""

from __future__ import annotations

__all__ = ["BackendUnavailable", "OpenClFailure"]


class OpenClFailure(Exception):
    """The device could not answer a batch (an OpenCL error, or verdicts out of range)."""


class BackendUnavailable(RuntimeError):
    """The configured backend cannot run here (the message says why)."""
