"""Looking at HTML reports as a person would: a headless Chromium screenshot and how much of it is drawn."""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path


def render_in_chromium(html_path, png_path, height: int = 2200) -> bool:
    """Screenshot a local HTML file in headless Chromium (Debian's package); False when it is not installed."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return False
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                f"--window-size=1400,{height}",
                "--virtual-time-budget=15000",
                f"--screenshot={png_path}",
                f"file://{html_path}",
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
    return True


def png_ink_share(png_path) -> float:
    """Share of decoded scanline bytes that are neither 0 nor 255: about 0 for a blank page."""
    data = Path(png_path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, idat = 8, b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        if kind == b"IDAT":
            idat += data[position + 8 : position + 8 + length]
        position += 12 + length
    pixels = zlib.decompress(idat)
    return sum(1 for b in pixels[::7] if b not in (0, 255)) / len(pixels[::7])
