"""The digest as a browser renders it: headless Chromium (Debian's ``chromium`` package, installed by
``make system-deps``) parses the written HTML and takes a phone-sized screenshot."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import numpy as np
import pytest

from pipeline.digest.stage import run_digest
from tests.support.digest_data import at, seed_day

DAY = dt.date(2026, 11, 27)
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
PHONE = (390, 1800)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (Debian: apt-get install chromium, "
                                                "or `make system-deps` as root)"),
]


def _chromium(tmp_path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--hide-scrollbars", f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, timeout=90, check=True)


def test_digest_renders_in_chromium(runtime, db_url, tmp_path):
    from PIL import Image

    seed_day(db_url, DAY)
    run_digest(runtime, day=DAY, out=tmp_path / "digest", as_of=at(DAY + dt.timedelta(days=1), 6))
    page = (tmp_path / "digest.html").as_uri()

    # the DOM as the browser built it: the hostile title stayed text, the chart is the only image
    dom = _chromium(tmp_path, "--dump-dom", page).stdout.decode("utf-8")
    assert "<script" not in dom.lower()
    assert dom.count("<img") == 1 and 'src="data:image/png;base64,' in dom
    assert "&lt;script&gt;alert(\"x\")&lt;/script&gt;\"&gt;&lt;img src=x onerror=alert(1)&gt;" in dom
    assert "Nvidia darf H20 wieder nach China liefern – Überblick" in dom

    shot = tmp_path / "phone.png"
    _chromium(tmp_path, f"--screenshot={shot}", f"--window-size={PHONE[0]},{PHONE[1]}", page)
    with Image.open(shot) as image:
        assert image.size == PHONE
        pixels = np.asarray(image.convert("RGB"), dtype=np.int16)

    def count(colour, tolerance=40) -> int:
        return int((np.abs(pixels - np.array(colour)).sum(axis=2) <= tolerance).sum())

    # not blank: dark text, blue links, and the chart's chips line drawn from the decoded PNG
    # (the overview table's colour key alone is about 100 such pixels)
    assert count((31, 35, 40), 120) > 5000
    assert count((9, 105, 218)) > 300
    assert count((0, 114, 178)) > 400
    # nothing wider than the phone: the right edge is page background, not cut-off content
    edge = pixels[:600, PHONE[0] - 2]
    assert (np.abs(edge - np.array((243, 244, 246))).sum(axis=1) <= 12).all()
