"""The HTTP service: its answers equal predict's, limits and bad files are 4xx, concurrent
requests are all answered, and its page works in a real (headless) browser."""

from __future__ import annotations

import io
import os
import shutil
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from fakevoice.dataset import read_submission
from fakevoice.predict import predict
from fakevoice.serve.app import Limits, create_app


@pytest.fixture(scope="module")
def client(toy_detector: Path):
    app = create_app(toy_detector, Limits(max_bytes=400_000, max_seconds=8.0, timeout=60.0))
    with TestClient(app) as c:
        yield c


def _clips(toy_contest: Path, n: int) -> list[Path]:
    return sorted((toy_contest / "test").iterdir())[:n]


def test_predict_answers_what_the_cli_writes(
    client: TestClient, toy_detector: Path, toy_contest: Path, tmp_path: Path
) -> None:
    clips = _clips(toy_contest, 3)
    predict(toy_detector, clips, tmp_path / "p.csv", workers=0)
    want = read_submission(tmp_path / "p.csv").set_index("id")
    for f in clips:
        r = client.post("/v1/predict", files={"file": (f.name, f.read_bytes(), "audio/ogg")})
        assert r.status_code == 200, r.text
        got = r.json()
        assert abs(got["fake"] - want.loc[str(f), "fake"]) < 1e-5
        assert abs(got["real"] - want.loc[str(f), "real"]) < 1e-5
        assert got["timeline"] and {"start", "end", "fake", "real", "label"} <= set(
            got["timeline"][0]
        )
        assert got["model"]["sha256"] and got["model"]["model"] == "detector"
        assert "picture_png" not in got


def test_picture_healthz_and_openapi(client: TestClient, toy_contest: Path) -> None:
    import base64

    f = _clips(toy_contest, 1)[0]
    r = client.post("/v1/predict?picture=true", files={"file": (f.name, f.read_bytes())})
    assert r.status_code == 200
    assert base64.b64decode(r.json()["picture_png"])[:8] == b"\x89PNG\r\n\x1a\n"
    h = client.get("/healthz").json()
    assert h["status"] == "ok" and h["served"] >= 1
    spec = client.get("/openapi.json").json()
    assert "/v1/predict" in spec["paths"] and "/healthz" in spec["paths"]
    assert client.get("/docs").status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and 'id="drop"' in page.text and "{{" not in page.text


def _wav_bytes(seconds: float) -> bytes:
    buf = io.BytesIO()
    import soundfile as sf

    x = 0.1 * np.random.default_rng(0).standard_normal(int(seconds * 16000)).astype(np.float32)
    sf.write(buf, x, 16000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "payload", "status", "says"),
    [
        ("notes.ogg", b"this is text, not audio\n" * 40, 422, "notes.ogg"),
        ("empty.wav", b"", 422, "empty"),
        ("trunc.wav", _wav_bytes(2.0)[:60], 422, "trunc.wav"),
        ("long.wav", _wav_bytes(10.0), 413, "over the 8 s limit"),
        ("huge.wav", _wav_bytes(13.0), 413, "larger than"),
    ],
)
def test_bad_uploads_are_4xx_with_a_reason(
    client: TestClient, name: str, payload: bytes, status: int, says: str
) -> None:
    r = client.post("/v1/predict", files={"file": (name, payload)})
    assert r.status_code == status, r.text
    assert says in r.json()["detail"]


def test_a_request_without_a_file_is_422(client: TestClient) -> None:
    assert client.post("/v1/predict").status_code == 422
    assert client.post("/v1/predict", data={"other": "x"}).status_code == 422


def test_concurrent_requests_are_all_answered_and_batched(
    client: TestClient, toy_contest: Path
) -> None:
    clips = _clips(toy_contest, 6) * 4
    before = client.app.state.batcher.batches

    def one(f: Path) -> tuple[int, float]:
        r = client.post("/v1/predict", files={"file": (f.name, f.read_bytes())})
        return r.status_code, r.json().get("fake", -1.0)

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(one, clips))
    assert [s for s, _ in got] == [200] * len(clips)
    by_clip: dict[str, set[float]] = {}
    for f, (_, p) in zip(clips, got, strict=True):
        by_clip.setdefault(f.name, set()).add(round(p, 5))
    assert all(len(v) == 1 for v in by_clip.values())  # the same file, the same answer
    assert client.app.state.batcher.batches - before < len(clips)  # some were scored together


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chromedriver() -> str | None:
    return shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
    )


@pytest.fixture(scope="module")
def live_server(toy_detector: Path):
    import uvicorn

    port = _free_port()
    app = create_app(toy_detector)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_the_page_in_headless_chromium(live_server: str, toy_contest: Path, tmp_path: Path) -> None:
    if _chromedriver() is None or shutil.which("chromium") is None:
        if os.environ.get("CI"):
            pytest.fail("chromium and chromium-driver are missing: `make setup` installs them")
        pytest.skip("chromium / chromium-driver not installed (make setup installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1100,1300",
                 "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking",
                 f"--user-data-dir={tmp_path / 'profile'}"):  # fmt: skip
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(_chromedriver()), options=opts)
    try:
        driver.get(live_server + "/")
        clip = _clips(toy_contest, 1)[0]
        driver.find_element(By.ID, "file").send_keys(str(clip))
        WebDriverWait(driver, 60).until(ec.text_to_be_present_in_element((By.ID, "status"), "done"))
        fake = float(driver.find_element(By.ID, "fake").text)
        real = float(driver.find_element(By.ID, "real").text)
        assert 0 <= fake <= 1 and 0 <= real <= 1
        assert driver.find_element(By.ID, "picture").get_attribute("naturalWidth") not in ("", "0")
        assert len(driver.find_elements(By.CSS_SELECTOR, "#timeline polyline")) == 2
        shot = tmp_path / "page.png"
        driver.save_screenshot(str(shot))
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
        if os.environ.get("FAKEVOICE_SCREENSHOT"):
            shutil.copy(shot, os.environ["FAKEVOICE_SCREENSHOT"])
        # a bad file: the page shows the service's reason, not a blank
        bad = tmp_path / "bad.ogg"
        bad.write_bytes(b"not audio at all\n" * 20)
        driver.find_element(By.ID, "file").send_keys(str(bad))
        WebDriverWait(driver, 30).until(ec.text_to_be_present_in_element((By.ID, "status"), "422"))
        assert "bad.ogg" in driver.find_element(By.ID, "status").text
    finally:
        driver.quit()


def test_wav_of_other_rates_and_stereo_are_accepted(client: TestClient, tmp_path: Path) -> None:
    import soundfile as sf

    x = 0.1 * np.random.default_rng(1).standard_normal((24_000, 2)).astype(np.float32)
    sf.write(tmp_path / "stereo.wav", x, 16000, subtype="PCM_16")
    r = client.post(
        "/v1/predict", files={"file": ("s.wav", (tmp_path / "stereo.wav").read_bytes())}
    )
    assert r.status_code == 200, r.text
    assert r.json()["seconds"] == pytest.approx(1.5)
