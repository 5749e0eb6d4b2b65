"""The downloader and cache against a real HTTP server on 127.0.0.1 (no mocks of requests)."""

from __future__ import annotations

import hashlib
import os
import threading

import pytest

from paintcli import cache, registry
from paintcli.cache import fetch
from paintcli.downloader import DownloadSettings, download, mirror_url, sha256_file
from paintcli.errors import ChecksumError, DownloadError, OfflineError

FAST = DownloadSettings(connect_timeout=2, read_timeout=0.5, retries=3, backoff=0.01)
DATA = os.urandom(300_000)


def entry_for(url: str, data: bytes = DATA, **changes) -> registry.Entry:
    fields = dict(
        name="thing",
        kind="weights",
        description="a test file",
        filename="thing.bin",
        urls=(url,),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    fields.update(changes)
    return registry.Entry(**fields)


def test_success_writes_exactly_the_verified_file(http_server, tmp_path):
    url = http_server.add("/w/thing.bin", DATA)
    dest = tmp_path / "thing.bin"
    download(url, dest, sha256=http_server.sha256(DATA), size=len(DATA), settings=FAST)
    assert dest.read_bytes() == DATA
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thing.bin"]  # no .part left behind


def test_resume_after_cut_connection_uses_a_range_request(http_server, tmp_path):
    url = http_server.add("/w/thing.bin", DATA, behaviour="cut", times=1)
    dest = tmp_path / "thing.bin"
    download(url, dest, sha256=http_server.sha256(DATA), size=len(DATA), settings=FAST)
    assert dest.read_bytes() == DATA
    (first, no_range), (second, resume_range) = http_server.requests
    assert no_range is None
    # Only what was not yet on disk is asked for again (the bytes of the chunk being read when the
    # connection dropped are lost, so the offset is at most the half the server sent).
    offset = int(resume_range.removeprefix("bytes=").rstrip("-"))
    assert 0 < offset <= len(DATA) // 2


def test_partial_file_from_an_earlier_run_is_resumed(http_server, tmp_path):
    url = http_server.add("/w/thing.bin", DATA)
    dest = tmp_path / "thing.bin"
    (tmp_path / "thing.bin.part").write_bytes(DATA[:100_000])
    download(url, dest, sha256=http_server.sha256(DATA), size=len(DATA), settings=FAST)
    assert dest.read_bytes() == DATA
    assert http_server.requests == [("/w/thing.bin", "bytes=100000-")]


def test_server_ignoring_range_restarts_cleanly(http_server, tmp_path):
    url = http_server.add("/w/thing.bin", DATA, behaviour="no-range")
    dest = tmp_path / "thing.bin"
    (tmp_path / "thing.bin.part").write_bytes(b"x" * 1000)  # stale bytes that must not survive
    download(url, dest, sha256=http_server.sha256(DATA), size=len(DATA), settings=FAST)
    assert dest.read_bytes() == DATA


def test_hash_mismatch_leaves_no_file(http_server, tmp_path):
    url = http_server.add("/w/thing.bin", DATA)
    dest = tmp_path / "thing.bin"
    with pytest.raises(ChecksumError, match="does not match its published checksum"):
        download(url, dest, sha256="0" * 64, settings=FAST)
    assert list(tmp_path.iterdir()) == []


def test_hash_prefix_in_the_file_name_is_checked(http_server, tmp_path):
    url = http_server.add("/w/thing.bin", DATA)
    good = http_server.sha256(DATA)[:8]
    download(url, tmp_path / "ok.bin", sha256_prefix=good, settings=FAST)
    with pytest.raises(ChecksumError):
        download(url, tmp_path / "bad.bin", sha256_prefix="deadbeef", settings=FAST)
    assert not (tmp_path / "bad.bin").exists()


def test_404_fails_at_once_without_retries(http_server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(http_server.base + "/missing.bin", tmp_path / "x.bin", settings=FAST)
    assert len(http_server.requests) == 1
    assert not (tmp_path / "x.bin").exists()


def test_server_error_is_retried(http_server, tmp_path):
    url = http_server.add("/w/thing.bin", DATA, behaviour="error500", times=2)
    download(url, tmp_path / "thing.bin", sha256=http_server.sha256(DATA), settings=FAST)
    assert len(http_server.requests) == 3


def test_timeout_gives_up_after_retries_with_a_clear_error(http_server, tmp_path):
    url = http_server.add("/w/thing.bin", DATA, behaviour="stall", times=10)
    settings = DownloadSettings(connect_timeout=2, read_timeout=0.2, retries=1, backoff=0.01)
    with pytest.raises(DownloadError, match="after 2 attempts.*timed out|after 2 attempts.*connection"):
        download(url, tmp_path / "thing.bin", sha256=http_server.sha256(DATA), settings=settings)
    assert not (tmp_path / "thing.bin").exists()


def test_fetch_puts_the_file_in_the_cache_by_kind(http_server, monkeypatch, tmp_path):
    monkeypatch.delenv("PAINT_OFFLINE")
    entry = entry_for(http_server.add("/w/thing.bin", DATA))
    path = fetch(entry, settings=FAST)
    assert path == tmp_path / "cache" / "weights" / "thing.bin"
    assert path.read_bytes() == DATA
    assert fetch(entry, settings=FAST) == path  # second call: cached, no request
    assert len(http_server.requests) == 1


def test_offline_mode_never_touches_the_network(http_server):
    entry = entry_for(http_server.add("/w/thing.bin", DATA))
    with pytest.raises(OfflineError) as info:
        fetch(entry, settings=FAST)
    message = str(info.value)
    assert "thing.bin" in message and "PAINT_OFFLINE=1" in message
    assert str(cache.path_for(entry)) in message and entry.urls[0] in message
    assert http_server.requests == []


def test_offline_mode_uses_a_cached_file(http_server):
    entry = entry_for(http_server.add("/w/thing.bin", DATA))
    target = cache.path_for(entry)
    target.parent.mkdir(parents=True)
    target.write_bytes(DATA)
    assert fetch(entry) == target


def test_mirror_rewrites_host_and_path_and_still_checks_hashes(http_server, monkeypatch):
    monkeypatch.delenv("PAINT_OFFLINE")
    monkeypatch.setenv("PAINT_MIRROR", http_server.base + "/mirror/")
    http_server.add("/mirror/models.example.org/v1/thing.bin", DATA)
    entry = entry_for("https://models.example.org/v1/thing.bin")
    assert fetch(entry, settings=FAST).read_bytes() == DATA
    assert http_server.requests[0][0] == "/mirror/models.example.org/v1/thing.bin"

    bad = entry_for("https://models.example.org/v1/thing.bin", filename="bad.bin", sha256="1" * 64)
    with pytest.raises(ChecksumError):
        fetch(bad, settings=FAST)
    assert not cache.path_for(bad).exists()


def test_mirror_url_keeps_query_strings(monkeypatch):
    monkeypatch.setenv("PAINT_MIRROR", "http://m:8080/p")
    assert mirror_url("https://h.org/a/b.zip?dl=1") == "http://m:8080/p/h.org/a/b.zip?dl=1"
    monkeypatch.delenv("PAINT_MIRROR")
    assert mirror_url("https://h.org/a") == "https://h.org/a"


def test_two_concurrent_fetches_download_once(http_server, monkeypatch):
    monkeypatch.delenv("PAINT_OFFLINE")
    entry = entry_for(http_server.add("/w/thing.bin", DATA))
    results, errors = [], []

    def worker():
        try:
            results.append(fetch(entry, settings=FAST))
        except Exception as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(results)) == 1 and results[0].read_bytes() == DATA
    assert len(http_server.requests) == 1


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PAINT_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert cache.cache_root() == tmp_path / "elsewhere"
    monkeypatch.delenv("PAINT_CACHE_DIR")
    assert cache.cache_root().name == "paintcli"


def test_registry_schema():
    for entry in registry.entries():
        assert entry.kind in {"weights", "model", "dataset"}
        assert entry.description and entry.filename
        assert entry.kind == "dataset" or entry.display_size, entry.name
        assert entry.bundled or entry.urls, entry.name
        assert entry.sha256 is None or len(entry.sha256) == 64
        if entry.sha256_prefix:
            assert entry.sha256_prefix in entry.filename  # torchvision-style names carry the prefix


def test_bundled_vgg19_matches_its_registry_record():
    entry = registry.get("vgg19")
    path = cache.path_for(entry)
    assert path.stat().st_size == entry.size
    assert sha256_file(path) == entry.sha256


@pytest.mark.parametrize("name", ["magenta-arbitrary", "multistyle26"])
def test_bundled_instant_networks_match_their_registry_records(name):
    entry = registry.get(name)
    path = cache.path_for(entry)
    assert entry.bundled and entry.license == "Apache-2.0"
    assert path.stat().st_size == entry.size and sha256_file(path) == entry.sha256
    assert cache.fetch(entry) == path  # bundled: never downloaded, even offline
