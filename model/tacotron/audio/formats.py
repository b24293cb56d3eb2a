"""The audio formats a server sends: 16-bit PCM WAV, G.711 μ-law and A-law (WAV or headerless), raw 16-bit PCM."""

from __future__ import annotations

import dataclasses
import io
import struct

import numpy as np
import soundfile


class FormatError(ValueError):
    """An audio format this module does not write."""


@dataclasses.dataclass(frozen=True)
class AudioFormat:
    name: str
    media_type: str
    container: str  # libsndfile's major format: "WAV" or "RAW" (no header)
    subtype: str  # libsndfile's encoding: PCM_16, ULAW (G.711 μ-law), ALAW (G.711 A-law)
    description: str

    @property
    def has_header(self) -> bool:
        return self.container == "WAV"


# Phone systems play G.711 at 8 kHz: Asterisk and FreeSWITCH read μ-law/A-law WAV files, Twilio's media streams and
# SIP trunks carry headerless μ-law (audio/basic, RFC 2046) or A-law.
FORMATS = {f.name: f for f in (
    AudioFormat("wav", "audio/wav", "WAV", "PCM_16", "16-bit PCM WAV"),
    AudioFormat("mulaw", "audio/wav", "WAV", "ULAW", "G.711 μ-law WAV"),
    AudioFormat("alaw", "audio/wav", "WAV", "ALAW", "G.711 A-law WAV"),
    AudioFormat("raw", "application/octet-stream", "RAW", "PCM_16", "raw 16-bit little-endian PCM, no header"),
    AudioFormat("pcmu", "audio/basic", "RAW", "ULAW", "raw G.711 μ-law bytes, no header"),
    AudioFormat("pcma", "audio/x-alaw-basic", "RAW", "ALAW", "raw G.711 A-law bytes, no header"),
)}


def audio_format(name: str) -> AudioFormat:
    """The format called `name`; FormatError naming the known ones otherwise."""
    try:
        return FORMATS[name]
    except (KeyError, TypeError):
        raise FormatError(f"unknown format {name!r}: one of {', '.join(FORMATS)}") from None


def encode(wav: np.ndarray, sample_rate: int, fmt: AudioFormat) -> bytes:
    """A whole file (or headerless samples) of `wav`, float samples in [-1, 1]."""
    buffer = io.BytesIO()
    soundfile.write(buffer, np.clip(wav, -1.0, 1.0), sample_rate, subtype=fmt.subtype, format=fmt.container,
                    endian="LITTLE" if fmt.container == "RAW" else "FILE")
    return buffer.getvalue()


def samples(wav: np.ndarray, sample_rate: int, fmt: AudioFormat) -> bytes:
    """`wav` encoded without a header: what follows stream_header() in a streamed file."""
    return encode(wav, sample_rate, dataclasses.replace(fmt, container="RAW"))


def stream_header(sample_rate: int, fmt: AudioFormat) -> bytes:
    """The header of a file whose length is not known when it starts: the RIFF and data sizes set to 0xFFFFFFFF, as
    streaming servers write them (libsndfile and sox read up to the end of what arrives). Empty for headerless
    formats."""
    if not fmt.has_header:
        return b""
    header = bytearray(encode(np.zeros(0, np.float32), sample_rate, fmt))
    data = header.rindex(b"data")
    struct.pack_into("<I", header, 4, 0xFFFFFFFF)
    struct.pack_into("<I", header, data + 4, 0xFFFFFFFF)
    return bytes(header[: data + 8])
