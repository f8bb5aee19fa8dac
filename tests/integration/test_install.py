"""A non-editable install serves the demo day from any directory (issue 19, packaging).

A copy of the checkout is installed with ``pip install`` (not ``-e``) into a fresh virtual environment,
with its dependencies from the package index as an operator would get them (pip's cache keeps this to
about half a minute). Then ``ehalsodag serve --demo`` runs from an unrelated working directory, with
nothing of the source tree on its path: the pages, a static file, the translations (a Swedish page),
the migrations (``--demo`` migrates) and the programmes it loads all come from the installed package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port, listens_on

ROOT = Path(__file__).resolve().parents[2]
#: Not copied: what the build must not need (and what would make the copy slow).
NOT_COPIED = shutil.ignore_patterns(".venv", ".git", "var", "test-artifacts", "build", "*.egg-info", "__pycache__",
                                    ".pytest_cache", ".ruff_cache", "node_modules")


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """The caller's environment without the test run's settings, Python path or virtualenv."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("EHALSODAG_") and key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["EHALSODAG_VAR_DIR"] = str(tmp_path / "var")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def test_a_non_editable_install_serves_the_demo_day_from_any_directory(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=NOT_COPIED)
    venv = tmp_path / "venv"
    env = _clean_env(tmp_path)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    installed = subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(source)], env=env,
                               capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    shutil.rmtree(source)  # nothing may be read from the copy any more

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run([str(python), "-c", "import ehalsodag; print(ehalsodag.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60)
    assert where.returncode == 0, where.stderr
    package = Path(where.stdout.strip()).parent
    assert package.is_relative_to(venv), package  # the installed copy, not the checkout
    for shipped in ("templates/base.html", "static/vendor/LICENSE.htmx", "static/vendor/README.md",
                    "programmes/nationell-ehalsodag-2022/ostergotland.toml",
                    "translations/sv/LC_MESSAGES/messages.po", "db/migrations/env.py",
                    "db/migrations/script.py.mako", "db/migrations/versions/0001_initial_schema.py"):
        assert (package / shipped).is_file(), shipped

    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen([str(venv / "bin" / "ehalsodag"), "serve", "--demo", "--port", str(port)],
                                  cwd=elsewhere, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, f"server exited:\n{log_path.read_text(errors='replace')}"
            assert time.monotonic() < deadline, f"no answer in 90 s:\n{log_path.read_text(errors='replace')}"
            try:
                if httpx.get(base + "/", timeout=2).status_code == 200 and listens_on(server.pid, port):
                    break  # its own answer: another test's server cannot have taken the port meanwhile
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        home = httpx.get(base + "/", timeout=10)
        assert home.status_code == 200
        assert "E-hälsodagar" in home.text  # the Swedish catalog, compiled from the installed .po
        assert "/e/ramprogram-2021" in home.text  # a demo programme, loaded from the installed package
        attendee = httpx.get(base + "/e/ostergotland-2021-03-23", timeout=10)
        assert attendee.status_code == 200 and "<form" in attendee.text
        for path in ("/static/css/app.css", "/static/js/live.js", "/static/vendor/htmx-2.0.11.min.js"):
            static = httpx.get(base + path, timeout=10)
            assert static.status_code == 200 and static.content, path
        schema = httpx.get(base + "/schema", timeout=10)
        assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.")
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert (tmp_path / "var" / "ehalsodag.sqlite3").exists()  # the database went where it was told
    assert not (elsewhere / "var").exists()
