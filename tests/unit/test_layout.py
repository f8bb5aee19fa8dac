"""The source root must never shadow the standard library's ``platform`` module."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_platform_is_a_source_root_not_a_package():
    assert (ROOT / "platform" / "ehalsodag" / "__init__.py").exists()
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_import_platform_from_repo_root_is_the_stdlib_module():
    expected = subprocess.run(
        [sys.executable, "-I", "-c", "import platform; print(platform.system())"],
        capture_output=True, text=True, check=True, cwd="/",
    ).stdout.strip()
    # From the repo root the cwd (holding ./platform/) comes first on sys.path.
    result = subprocess.run(
        [sys.executable, "-c", "import platform; print(platform.system()); print(platform.__file__)"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )
    system, location = result.stdout.strip().splitlines()
    assert system == expected and system
    assert not location.startswith(str(ROOT / "platform"))
