"""tacotron-serve as users run it, on the pipeline's export (conftest's pipeline_run) in a folder of numbered versions:
the audio formats read back by sox, KServe's v1 and v2 protocols, every bad input a 4xx while it keeps serving,
overload a 503, the first sentence of a long text before the rest, a new version picked up without a restart, the page
in headless Chromium, and SIGTERM draining what is in flight."""

from __future__ import annotations

import base64
import concurrent.futures
import io
import json
import shutil
import signal
import socket
import subprocess
import sys
import time

import httpx
import numpy
import pytest
import soundfile

from tests.commands import env
from tests.conftest import REPO

pytestmark = pytest.mark.slow
# Ten sentences too long to be packed two to a chunk (200 characters): ten syntheses, one after another when streamed.
LONG_TEXT = " ".join(f"This is sentence number {n} of the message, which goes on for a while so that it cannot share "
                     "its turn with the next one." for n in range(1, 11))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(exported, tmp_path_factory):
    serving = tmp_path_factory.mktemp("serving")
    shutil.copytree(exported, serving / "1")
    port = free_port()
    log = open(serving.parent / "serve.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "tacotron.cli.serve", "--model", str(serving), "--http_port", str(port),
         "--poll_seconds", "0.5", "--max_batch", "2", "--max_queue", "4"],
        cwd=REPO, env=env(), stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}/v2/health/ready", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.5)
    assert process.poll() is None, (serving.parent / "serve.log").read_text()[-3000:]
    yield {"base": base, "process": process, "serving": serving, "exported": exported,
           "log": serving.parent / "serve.log"}
    if process.poll() is None:
        process.kill()
    log.close()


def post(server, path: str, **kwargs) -> httpx.Response:
    return httpx.post(server["base"] + path, timeout=120, **kwargs)


@pytest.mark.parametrize("fmt, sox_type", [("wav", []), ("mulaw", []), ("alaw", []),
                                           ("pcmu", ["-t", "raw", "-r", "8000", "-c", "1", "-e", "mu-law"]),
                                           ("raw", ["-t", "raw", "-r", "8000", "-c", "1", "-e", "signed", "-b", "16"])])
def test_every_format_is_8_khz_audio_that_sox_reads(server, fmt, sox_type, tmp_path):
    response = post(server, "/synthesize", json={"text": "Please call us back.", "format": fmt})
    assert response.status_code == 200, response.text
    path = tmp_path / f"speech.{fmt}"
    path.write_bytes(response.content)
    stat = subprocess.run(["sox", *sox_type, str(path), "-n", "stat"], capture_output=True, text=True)
    assert stat.returncode == 0, stat.stderr
    samples = int(next(line for line in stat.stderr.splitlines() if line.startswith("Samples read")).split()[-1])
    assert samples > 800  # at least 0.1 s
    if not sox_type:
        assert subprocess.run(["soxi", "-r", str(path)], capture_output=True, text=True).stdout.strip() == "8000"
        assert soundfile.info(io.BytesIO(response.content)).samplerate == 8000
    assert response.headers["x-model-version"] == "1"


def test_the_server_says_what_the_exported_model_says_in_python(server, tmp_path):
    # In a process of its own with the kernels tacotron-serve chooses (Eigen: TF_ENABLE_ONEDNN_OPTS=0); this test
    # process's TensorFlow has oneDNN's, whose rounding Griffin-Lim's iterations carry into audible differences.
    program = ("import sys, numpy\nfrom tacotron.serving.export import load_exported\n"
               "numpy.save(sys.argv[2], load_exported(sys.argv[1])(['Please call us back.'])[0][0])")
    subprocess.run([sys.executable, "-c", program, str(server["exported"]), str(tmp_path / "wave.npy")], cwd=REPO,
                   env={**env(), "TF_ENABLE_ONEDNN_OPTS": "0"}, check=True, timeout=600)
    wave = numpy.load(tmp_path / "wave.npy")
    answer = post(server, "/synthesize", json={"text": "Please call us back."})
    served, rate = soundfile.read(io.BytesIO(answer.content), dtype="float32")
    assert rate == 8000 and served.shape == wave.shape
    assert abs(served - wave).max() <= 1.5 / 32768  # 16-bit PCM rounding


def test_kserve_v1_and_v2_protocols_answer_audio(server):
    v1 = post(server, "/v1/models/tacotron:predict",
              json={"instances": ["Hello there.", {"text": "Goodbye.", "format": "mulaw"}]})
    assert v1.status_code == 200, v1.text
    predictions = v1.json()["predictions"]
    assert [p["format"] for p in predictions] == ["wav", "mulaw"]
    for p in predictions:
        info = soundfile.info(io.BytesIO(base64.b64decode(p["audio"])))
        assert (info.samplerate, info.frames) == (8000, p["samples"])
    v2 = post(server, "/v2/models/tacotron/infer", json={
        "inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["Your order has shipped."]}],
        "parameters": {"format": "alaw"}})
    assert v2.status_code == 200, v2.text
    outputs = {o["name"]: o for o in v2.json()["outputs"]}
    audio = base64.b64decode(outputs["audio"]["data"][0])
    assert soundfile.info(io.BytesIO(audio)).subtype == "ALAW"
    assert soundfile.info(io.BytesIO(audio)).frames == outputs["samples"]["data"][0]
    assert httpx.get(server["base"] + "/v1/models/tacotron", timeout=10).json()["ready"] is True


@pytest.mark.parametrize("request_kwargs, status, names", [
    ({"json": {"text": ""}}, 400, "text is empty"),
    ({"json": {"text": "a" * 100_000}}, 413, "at most 5000"),
    ({"content": "a " * 50_000, "headers": {"content-type": "text/plain"}}, 413, "at most 5000"),
    ({"content": b"\xff\xfe\xfa bad", "headers": {"content-type": "text/plain"}}, 400, "not UTF-8"),
    ({"content": b"x", "headers": {"content-type": "image/png"}}, 415, "image/png"),
    ({"json": {"text": "Hi.", "format": "mp3"}}, 400, "unknown format 'mp3'"),
    ({"json": {"text": "Hi.", "voice": "nobody"}}, 404, "unknown voice 'nobody'"),
    ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "not JSON"),
    ({"json": {"text": "?!"}}, 400, "nothing to say"),
])
def test_bad_input_is_a_4xx_naming_it_and_the_server_keeps_serving(server, request_kwargs, status, names):
    response = post(server, "/synthesize", **request_kwargs)
    assert response.status_code == status and names in response.json()["error"], response.text
    assert post(server, "/synthesize", json={"text": "Still here."}).status_code == 200


def test_the_first_sentence_of_a_long_text_arrives_before_the_rest_is_synthesized(server):
    with httpx.stream("POST", server["base"] + "/synthesize", json={"text": LONG_TEXT, "format": "raw"},
                      timeout=300) as response:
        start = time.monotonic()
        chunks = []
        for chunk in response.iter_bytes():
            chunks.append((time.monotonic() - start, len(chunk)))
    assert response.status_code == 200
    first_audio, total = chunks[0][0], chunks[-1][0]
    assert len(chunks) >= 10 and first_audio < total / 2, chunks  # the first came long before the last
    assert sum(n for _, n in chunks) > 2 * 8000  # 16-bit samples: more than a second of audio in all


def test_overload_is_503_and_every_other_request_is_answered(server):
    def one(i: int) -> int:
        return post(server, "/synthesize", json={"text": f"Request number {i} is here."}).status_code

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(one, range(16)))
    assert set(statuses) == {200, 503} and statuses.count(503) >= 1, statuses
    assert post(server, "/synthesize", json={"text": "Calm again."}).status_code == 200


def page_dom(server, tmp_path) -> str:
    """The page after headless Chromium typed a sentence, pressed Speak and played the answer (Chrome's own
    DevTools protocol drives it: tests/browser.py)."""
    from tests.browser import type_press_and_wait

    return type_press_and_wait(server["base"] + "/", "Your appointment is at noon.", tmp_path / "page.png")


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_the_page_plays_a_sentence_in_headless_chromium(server, tmp_path):
    result = page_dom(server, tmp_path)
    assert result["error"] == "", result
    assert result["typed"] == "Your appointment is at noon." and result["played"], result
    assert result["duration"] > 0, result
    expected = post(server, "/synthesize", json={"text": "Your appointment is at noon."})
    assert abs(result["duration"] - soundfile.info(io.BytesIO(expected.content)).duration) < 0.01
    assert (tmp_path / "page.png").stat().st_size > 0


def test_a_new_version_is_served_without_a_restart(server):
    shutil.copytree(server["exported"], server["serving"] / "7")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if httpx.get(server["base"] + "/voices", timeout=10).json()["version"] == "7":
            break
        time.sleep(0.5)
    response = post(server, "/synthesize", json={"text": "New version."})
    assert response.headers["x-model-version"] == "7"
    assert "now serving version 7" in server["log"].read_text()


def test_sigterm_answers_the_requests_in_flight_then_exits_0(server):
    """Last in this module: it stops the server."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(post, server, "/synthesize", json={"text": LONG_TEXT})
        time.sleep(0.3)
        server["process"].send_signal(signal.SIGTERM)
        response = in_flight.result(timeout=300)
    assert response.status_code == 200 and len(response.content) > 8000
    assert server["process"].wait(timeout=120) == 0, server["log"].read_text()[-2000:]
    assert json.dumps("stopped; every request in flight was answered")[1:-1] in server["log"].read_text()
