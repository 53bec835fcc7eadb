"""Test-session rules: under CI, PyTorch (the reference oracle) must be present."""
import os

import pytest


def pytest_configure(config):
    if os.environ.get("CI"):
        try:
            import torch  # noqa: F401
        except ImportError as exc:
            raise pytest.UsageError(
                "CI is set but PyTorch is missing: the torch checks would be skipped. "
                "Install it with: pip install torch==2.13.0"
            ) from exc
