"""Shared test configuration."""

from __future__ import annotations

import os

from hypothesis import settings

# "ci": reproducible runs with no flaky deadlines; a failure prints a blob to replay it with
# @reproduce_failure. Pick another registered profile with HYPOTHESIS_PROFILE=<name>.
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
