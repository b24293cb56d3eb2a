"""Every audio format the server sends, read back by libsndfile and by sox as 8 kHz audio of the right length."""

import shutil
import subprocess

import numpy as np
import pytest
import soundfile

from tacotron.audio import formats

RATE = 8000
TONE = (0.5 * np.sin(2 * np.pi * 440 * np.arange(RATE) / RATE)).astype(np.float32)  # 1 s
SOX_RAW = {"raw": ["-e", "signed-integer", "-b", "16"], "pcmu": ["-e", "mu-law", "-b", "8"],
           "pcma": ["-e", "a-law", "-b", "8"]}
SOX_ENCODING = {"wav": "Signed Integer PCM", "mulaw": "u-law", "alaw": "A-law"}
pytestmark = pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed (apt-get install sox)")


def sox_reads(path, name: str) -> tuple[int, int]:
    """(sample rate, samples) as sox reads the file."""
    kind = ["-t", "raw", "-r", str(RATE), "-c", "1", *SOX_RAW[name]] if name in SOX_RAW else []
    stat = subprocess.run(["sox", *kind, str(path), "-n", "stat"], capture_output=True, text=True, check=True).stderr
    samples = int(next(line for line in stat.splitlines() if line.startswith("Samples read")).split()[-1])
    rate = RATE if name in SOX_RAW else int(subprocess.run(["soxi", "-r", str(path)], capture_output=True, text=True,
                                                           check=True).stdout)
    return rate, samples


@pytest.mark.parametrize("name", list(formats.FORMATS))
def test_each_format_reads_back_as_8_khz_audio_of_its_length(name, tmp_path):
    fmt = formats.audio_format(name)
    whole, streamed = tmp_path / f"whole.{name}", tmp_path / f"streamed.{name}"
    whole.write_bytes(formats.encode(TONE, RATE, fmt))
    # A streamed file: a header whose sizes are unknown, then the samples in two pieces as two sentences arrive.
    streamed.write_bytes(formats.stream_header(RATE, fmt) + formats.samples(TONE[:3000], RATE, fmt)
                         + formats.samples(TONE[3000:], RATE, fmt))
    for path in (whole, streamed):
        assert sox_reads(path, name) == (RATE, len(TONE)), path.name
        if fmt.has_header:
            info = soundfile.info(str(path))
            decoded, rate = soundfile.read(str(path), dtype="float32")
            assert (rate, info.subtype, len(decoded)) == (RATE, fmt.subtype, len(TONE))
            # G.711 keeps about 8 bits: a 440 Hz tone comes back within a step of its companding.
            assert np.abs(decoded - TONE).max() < (1e-3 if name == "wav" else 0.02)
            encoding = subprocess.run(["soxi", "-e", str(path)], capture_output=True, text=True).stdout.strip()
            assert encoding == SOX_ENCODING[name]
    assert whole.read_bytes() == streamed.read_bytes() or fmt.has_header  # headerless: the same bytes either way


def test_an_unknown_format_names_the_known_ones():
    with pytest.raises(formats.FormatError, match="unknown format 'mp3': one of wav, mulaw, alaw, raw, pcmu, pcma"):
        formats.audio_format("mp3")
