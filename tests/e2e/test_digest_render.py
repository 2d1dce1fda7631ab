"""The digest as a browser renders it: headless Chromium (Debian's ``chromium`` package, installed by
``make system-deps``) parses the written HTML and takes screenshots at 900 px (desktop) and 390 px
(phone). The screenshots are kept in ``build/digest-screenshots/`` for a human to look at."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipeline.digest.stage import run_digest
from tests.support.digest_data import STORY_LABEL, TOP_HEADLINE, at, seed_day

DAY = dt.date(2026, 11, 27)
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
PHONE = (390, 1800)
DESKTOP = (900, 1800)
KEPT = Path(__file__).resolve().parents[2] / "build" / "digest-screenshots"
GMAIL_CLIP = 102 * 1024  # Gmail shows "[Message clipped]" for a larger HTML part

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
    assert TOP_HEADLINE in dom and STORY_LABEL not in dom

    # the top line, honest totals and per-block languages are in the page as built
    assert "Today in one line each" in dom and "All articles" in dom and 'lang="de"' in dom
    msg = email.message_from_bytes((tmp_path / "digest.eml").read_bytes(), policy=email.policy.default)
    assert len(msg.get_body(("html",)).get_content().encode("utf-8")) < GMAIL_CLIP

    KEPT.mkdir(parents=True, exist_ok=True)
    shots = {}
    for name, size in (("desktop-900", DESKTOP), ("phone-390", PHONE)):
        shot = KEPT / f"digest-{name}.png"
        _chromium(tmp_path, f"--screenshot={shot}", f"--window-size={size[0]},{size[1]}", page)
        with Image.open(shot) as image:
            assert image.size == size
            shots[name] = np.asarray(image.convert("RGB"), dtype=np.int16)
    desktop = shots["desktop-900"]
    # at 900 px the 640 px card is centred: page background on both sides of it
    for column in (20, DESKTOP[0] - 20):
        assert (np.abs(desktop[:600, column] - np.array((243, 244, 246))).sum(axis=1) <= 12).all()
    pixels = shots["phone-390"]

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
