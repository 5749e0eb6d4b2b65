"""Shared fixtures: an isolated cache and environment for every test, tiny images, a loopback HTTP server."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

from paintcli import console
from tests.fixtures import FileServer, content_image, handler, style_image


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """No test touches the user's cache, the network, or a GPU by accident."""
    monkeypatch.setenv("PAINT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PAINT_OFFLINE", "1")
    monkeypatch.setenv("PAINT_DEVICE", "cpu")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    for name in ("PAINT_MIRROR", "PAINT_TIMEOUT", "PAINT_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    console.reset()
    yield
    console.reset()


@pytest.fixture
def images(tmp_path) -> tuple[Path, Path]:
    """(content.png, style.png) in a temporary folder."""
    content, style = tmp_path / "content.png", tmp_path / "style.png"
    content_image().save(content)
    style_image().save(style)
    return content, style


@pytest.fixture
def http_server():
    state = FileServer()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler(state))
    httpd.daemon_threads = True
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
