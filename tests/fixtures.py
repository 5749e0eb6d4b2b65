"""Helpers the tests share: tiny pictures and a loopback HTTP file server (conftest.py turns them into fixtures)."""

from __future__ import annotations

import hashlib
import http.server
import time
from dataclasses import dataclass, field

from PIL import Image, ImageDraw


def content_image(size=(64, 48)) -> Image.Image:
    """A simple scene: sky, ground, a dark house with a bright window: clear layout, few colours."""
    w, h = size
    img = Image.new("RGB", size, (120, 170, 230))
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, h * 2 // 3, w, h], fill=(60, 140, 60))
    draw.rectangle([w // 4, h // 4, w // 2, h * 3 // 4], fill=(90, 40, 30))
    draw.rectangle([w * 5 // 16, h * 3 // 8, w * 7 // 16, h // 2], fill=(250, 240, 120))
    draw.ellipse([w * 3 // 4 - 6, 4, w * 3 // 4 + 6, 16], fill=(255, 255, 200))
    return img


def style_image(size=(64, 64)) -> Image.Image:
    """A small 'painting': short brush strokes of a few related colours on a dark blue ground."""
    import random

    rng = random.Random(7)
    w, h = size
    img = Image.new("RGB", size, (30, 50, 110))
    draw = ImageDraw.Draw(img)
    colours = [(235, 200, 70), (70, 110, 190), (160, 190, 230), (20, 30, 60)]
    for _ in range(w * h // 12):
        x, y = rng.randrange(w), rng.randrange(h)
        dx, dy = rng.choice([(4, 2), (3, -3), (5, 1)])
        draw.line([(x, y), (x + dx, y + dy)], fill=rng.choice(colours), width=2)
    return img


# --- a real HTTP server on 127.0.0.1 ----------------------------------------------------------------------


@dataclass
class FileServer:
    """Serves `files` by path; `behaviour[path]` can make a path misbehave for the first N requests."""

    files: dict[str, bytes] = field(default_factory=dict)
    behaviour: dict[str, str] = field(default_factory=dict)  # "cut", "stall", "no-range", "error500"
    failures_left: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)
    base: str = ""

    def add(self, path: str, data: bytes, behaviour: str | None = None, times: int = 1) -> str:
        self.files[path] = data
        if behaviour:
            self.behaviour[path] = behaviour
            self.failures_left[path] = times
        return self.base + path

    @staticmethod
    def sha256(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()


def handler(server: FileServer):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep test output clean
            pass

        def do_GET(self):  # noqa: N802 (http.server's naming)
            path = self.path
            server.requests.append((path, self.headers.get("Range")))
            data = server.files.get(path)
            if data is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            misbehave = server.behaviour.get(path)
            if misbehave and server.failures_left.get(path, 0) > 0:
                server.failures_left[path] -= 1
            else:
                misbehave = None if misbehave != "no-range" else misbehave
            if misbehave == "error500":
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start = 0
            range_header = self.headers.get("Range")
            if range_header and misbehave != "no-range":
                start = int(range_header.removeprefix("bytes=").split("-")[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if misbehave == "cut":  # send half, then drop the connection
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            if misbehave == "stall":  # headers, then silence
                self.wfile.flush()
                time.sleep(1.5)
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler
