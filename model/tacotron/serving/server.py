"""tacotron-serve's server over an exported model: KServe's v1 and v2 protocols, a plain text-to-audio endpoint that
streams sentence by sentence, and a page to hear it."""

from __future__ import annotations

import asyncio
import base64
import importlib.resources
import json
import threading
import warnings
from collections.abc import AsyncIterator

import numpy as np
from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from tacotron.audio import formats
from tacotron.serving.batcher import Batcher, Overloaded
from tacotron.serving.inference import SENTENCE_PAUSE_S, TextError, first_sentence_apart, prepare_text
from tacotron.serving.versions import FollowedModel


class RequestError(Exception):
    """A request the server refuses: its HTTP status and one line naming the problem."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Speaker:
    """Text -> audio for one served voice: checked, cut into sentences, synthesized through the batcher."""

    def __init__(self, name: str, followed: FollowedModel, max_batch: int = 8, max_delay_s: float = 0.005,
                 max_queue: int = 64, max_text_chars: int = 5000, max_sentence_chars: int = 200):
        self.name = name
        self.followed = followed
        self.batcher = Batcher(self.synthesize, max_batch, max_delay_s, max_queue)
        self.max_text_chars = max_text_chars
        self.max_sentence_chars = max_sentence_chars

    @property
    def sample_rate(self) -> int:
        return int(self.followed.current()[1].info["sample_rate"])

    @property
    def version(self) -> str:
        number = self.followed.current()[0].number
        return "" if number is None else str(number)

    def sentences(self, text: object) -> list[str]:
        """The normalized sentences of `text`; RequestError (4xx) for text that cannot be spoken."""
        if not isinstance(text, str):
            raise RequestError(400, f"text must be a string, not {type(text).__name__}")
        if not text.strip():
            raise RequestError(400, "text is empty")
        if len(text) > self.max_text_chars:
            raise RequestError(413, f"text is {len(text)} characters; at most {self.max_text_chars} a request")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # characters the frontend cannot read are dropped, as synthesis drops them
            try:
                return prepare_text(text, self.max_sentence_chars, self.followed.current()[1].frontend)
            except TextError as e:
                raise RequestError(400, str(e)) from None

    def check_voice(self, voice: object) -> None:
        if voice not in (None, "", self.name):
            raise RequestError(404, f"unknown voice {voice!r}: this server speaks {self.name!r}")

    def synthesize(self, chunks: list[str]) -> list[tuple[np.ndarray, bool]]:
        """The batcher's work: normalized sentences -> (waveform, stopped) each, on the version served now."""
        _, model = self.followed.current()
        waves, stopped = model.synthesize_chunks(chunks, batch_size=len(chunks))
        return list(zip(waves, stopped, strict=True))

    def _admit(self, chunk: str) -> asyncio.Future:
        """A request is admitted, or refused with 503, by its first sentence; the rest of it then waits for room
        (batcher.submit_when_room), so a long text on an idle server is never refused for its length."""
        try:
            return self.batcher.submit([chunk])[0]
        except Overloaded as e:
            raise RequestError(503, str(e)) from None

    async def _rest(self, chunks: list[str]) -> list[asyncio.Future]:
        futures = []
        for start in range(0, len(chunks), self.batcher.max_batch):
            futures += await self.batcher.submit_when_room(chunks[start : start + self.batcher.max_batch])
        return futures

    async def speak(self, text: object) -> np.ndarray:
        """The whole waveform of `text`, its sentences synthesized in batches."""
        chunks = self.sentences(text)
        first = self._admit(chunks[0])
        results = await asyncio.gather(first, *await self._rest(chunks[1:]))
        pause = np.zeros(int(SENTENCE_PAUSE_S * self.sample_rate), np.float32)
        return np.concatenate([part for wav, _ in results for part in (wav, pause)][:-1])

    async def stream(self, text: object, fmt: formats.AudioFormat) -> AsyncIterator[bytes]:
        """`text`'s audio sentence by sentence: the first sentence is sent as soon as it is synthesized, before the
        next is started. Refusals (4xx, 503) are raised before the first byte."""
        chunks = first_sentence_apart(self.sentences(text))
        return self._stream(self._admit(chunks[0]), chunks[1:], fmt)

    async def _stream(self, first: asyncio.Future, rest: list[str], fmt: formats.AudioFormat) -> AsyncIterator[bytes]:
        rate = self.sample_rate
        pause = formats.samples(np.zeros(int(SENTENCE_PAUSE_S * rate), np.float32), rate, fmt)
        wav, _ = await first
        yield formats.stream_header(rate, fmt) + formats.samples(wav, rate, fmt)
        for chunk in rest:
            wav, _ = await (await self.batcher.submit_when_room([chunk]))[0]
            yield pause + formats.samples(wav, rate, fmt)

    def encoded(self, wav: np.ndarray, fmt: formats.AudioFormat) -> bytes:
        return formats.encode(wav, self.sample_rate, fmt)


def request_format(name: object) -> formats.AudioFormat:
    try:
        return formats.audio_format("wav" if name in (None, "") else name)
    except formats.FormatError as e:
        raise RequestError(400, str(e)) from None


def page_html() -> str:
    return importlib.resources.files("tacotron.serving").joinpath("page.html").read_text(encoding="utf-8")


def build_kserve_model(speaker: Speaker):
    """The voice as a kserve.Model: v1 `{"instances": ["text", {"text": ..., "format": ...}]}` -> `{"predictions":
    [{"audio": base64, "format", "sample_rate", "samples"}]}`; v2 input `text` (BYTES [N], parameter `format`) ->
    outputs `audio` (BYTES [N], base64) and `samples` (INT32 [N])."""
    import kserve
    from kserve.errors import InvalidInput
    from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse

    class Voice(kserve.Model):
        def __init__(self):
            super().__init__(speaker.name)
            self.ready = True

        async def predict(self, payload, headers=None, response_headers=None):
            try:
                if isinstance(payload, InferRequest):
                    return await self._v2(payload)
                return await self._v1(payload)
            except RequestError as e:
                if e.status == 503:
                    raise Overloaded(str(e)) from None
                raise InvalidInput(str(e)) from None

        async def _audio(self, text: object, fmt: formats.AudioFormat) -> tuple[bytes, int]:
            wav = await speaker.speak(text)
            return speaker.encoded(wav, fmt), len(wav)

        async def _v1(self, payload: dict | bytes) -> dict:
            if isinstance(payload, bytes):  # KServe passes a body sent without a JSON content type undecoded
                try:
                    payload = json.loads(payload.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError):
                    raise RequestError(400, "body is not UTF-8 JSON") from None
            instances = payload.get("instances") if isinstance(payload, dict) else None
            if not isinstance(instances, list) or not instances:
                raise RequestError(400, 'expected {"instances": [text, ...]}')
            requests = [item if isinstance(item, dict) else {"text": item} for item in instances]
            for item in requests:
                speaker.check_voice(item.get("voice"))
            fmts = [request_format(item.get("format")) for item in requests]
            done = await asyncio.gather(*(self._audio(item.get("text"), fmt) for item, fmt in zip(requests, fmts,
                                                                                                  strict=True)))
            return {"predictions": [
                {"audio": base64.b64encode(audio).decode(), "format": fmt.name, "sample_rate": speaker.sample_rate,
                 "samples": n}
                for (audio, n), fmt in zip(done, fmts, strict=True)]}

        async def _v2(self, request: InferRequest) -> InferResponse:
            text_input = request.get_input_by_name("text")
            if text_input is None or text_input.datatype != "BYTES":
                raise RequestError(400, 'expected an input "text" of datatype BYTES')
            texts = [t.decode("utf-8", "replace") if isinstance(t, bytes) else t
                     for t in np.asarray(text_input.data, dtype=object).ravel()]
            parameters = {**(request.parameters or {}), **(text_input.parameters or {})}
            fmt = request_format(_parameter(parameters.get("format")))
            done = await asyncio.gather(*(self._audio(t, fmt) for t in texts))
            return InferResponse(
                response_id=request.id or "", model_name=speaker.name, infer_outputs=[
                    InferOutput("audio", [len(done)], "BYTES", [base64.b64encode(a).decode() for a, _ in done],
                                parameters={"format": fmt.name, "encoding": "base64"}),
                    InferOutput("samples", [len(done)], "INT32", [n for _, n in done]),
                ])

    return Voice()


def _parameter(value: object) -> object:
    """A v2 parameter's value (REST sends it plain; gRPC wraps it in an InferParameter)."""
    return getattr(value, "string_param", value)


def add_routes(app, speaker: Speaker) -> None:
    """The page at `/` and the plain endpoint on KServe's FastAPI app. They are added before KServe adds its own
    (`/` answers its liveness JSON otherwise)."""
    async def refused(_, error: Exception) -> JSONResponse:
        status = error.status if isinstance(error, RequestError) else 503
        return JSONResponse({"error": str(error)}, status_code=status, headers={"Retry-After": "1"} if status == 503
                            else None)

    async def page() -> HTMLResponse:
        return HTMLResponse(page_html())

    async def synthesize(request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            params |= await _body_params(request, speaker.max_text_chars)
        speaker.check_voice(params.get("voice"))
        fmt = request_format(params.get("format"))
        headers = {"X-Model-Version": speaker.version, "X-Sample-Rate": str(speaker.sample_rate)}
        if _flag(params.get("stream")) or not fmt.has_header:
            return StreamingResponse(await speaker.stream(params.get("text"), fmt), media_type=fmt.media_type,
                                     headers=headers)
        wav = await speaker.speak(params.get("text"))
        return Response(speaker.encoded(wav, fmt), media_type=fmt.media_type, headers=headers)

    async def voices() -> JSONResponse:
        return JSONResponse({"voices": [speaker.name], "version": speaker.version, "sample_rate": speaker.sample_rate,
                             "formats": {f.name: f.description for f in formats.FORMATS.values()}})

    app.add_exception_handler(RequestError, refused)
    app.add_exception_handler(Overloaded, refused)
    app.add_api_route("/", page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/synthesize", synthesize, methods=["GET", "POST"])
    app.add_api_route("/voices", voices, methods=["GET"])


async def _body_params(request, max_text_chars: int) -> dict:
    """A POST body as parameters: JSON `{"text": ..., "format": ..., "voice": ..., "stream": ...}` or plain text."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/json", "text/plain"):
        raise RequestError(415, f"content type {content_type or 'none'!r}: send application/json or text/plain")
    body = await request.body()
    # Four bytes a character at most in UTF-8: a larger body is refused before it is decoded.
    if len(body) > 4 * max_text_chars + 1024:
        raise RequestError(413, f"body is {len(body)} bytes; text is at most {max_text_chars} characters a request")
    try:
        decoded = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RequestError(400, f"body is not UTF-8 (byte {e.start})") from None
    if content_type == "text/plain":
        return {"text": decoded}
    try:
        params = json.loads(decoded)
    except json.JSONDecodeError as e:
        raise RequestError(400, f"body is not JSON ({e.msg} at character {e.pos})") from None
    if not isinstance(params, dict):
        raise RequestError(400, 'expected a JSON object: {"text": "...", "format": "wav"}')
    return params


def _flag(value: object) -> bool:
    return value is True or str(value).lower() in ("1", "true", "yes")


def follow_versions(speaker: Speaker, every_s: float, stop: threading.Event, log=print) -> threading.Thread:
    """A thread that serves a newer version of the model folder as soon as one appears, as TF Serving polls."""

    def watch() -> None:
        while not stop.wait(every_s):
            try:
                version = speaker.followed.refresh()
            except Exception as e:  # a version that cannot load: keep serving the current one, say why
                log(f"tacotron-serve: not serving the newest version: {str(e).splitlines()[0]}")
                continue
            if version is not None:
                log(f"tacotron-serve: now serving version {version.number} ({version.path})")

    thread = threading.Thread(target=watch, name="versions", daemon=True)
    thread.start()
    return thread
