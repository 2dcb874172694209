"""The whole repository is ruff clean and ruff formatted (config in .ruff.toml)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.processes import REPO


@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]], ids=["check", "format"])
def test_ruff(command):
    out = subprocess.run(
        [sys.executable, "-m", "ruff", *command], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stdout + out.stderr
