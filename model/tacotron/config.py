"""Every config object, bindable from gin files (the model, its loss, synthesis and training), and gin parsing.

A command parses gin once (`parse_gin`) and passes the resulting `Configs` down; the library never reads gin's
global bindings. A model_dir's config.gin is read back with `read_gin`, which leaves gin's global state alone.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tokenize
from collections.abc import Sequence
from importlib import resources
from typing import Any

import gin
from gin import config_parser

from tacotron.audio import AudioConfig


@gin.configurable
@dataclasses.dataclass(frozen=True)
class TacotronConfig:
    """Tacotron 1 (Wang et al. 2017) sizes; defaults are the paper's, at 8 kHz features."""

    # Text side. The frontend turns text into the symbols the model reads (tacotron.text.frontend): "phonemes"
    # (espeak-ng) or "characters"; phonemes said every held-out sentence of unseen words where characters missed some
    # (docs/SPEAKING.md).
    frontend: str = "phonemes"
    vocab_size: int = 0  # embedding rows; the trainer sets it from the data's vocabulary (tacotron.text ids)
    embedding_dim: int = 256
    encoder_prenet_units: tuple[int, ...] = (256, 128)
    # Dropout on the encoder pre-net is independent per character: at the decoder pre-net's 0.5 the character
    # identity reaching attention is so noisy that the model learns to continue the previous frame and ignore the
    # text (docs/SPEAKING.md). The decoder's own pre-net dropout, which breaks teacher-forcing dependence, stays.
    encoder_prenet_dropout: float = 0.0
    encoder_conv_bank_k: int = 16
    encoder_channels: int = 128
    encoder_highway_layers: int = 4
    # Decoder.
    reduction_factor: int = 2  # mel frames emitted per decoder step ("r")
    decoder_prenet_units: tuple[int, ...] = (256, 128)
    decoder_prenet_dropout: float = 0.5  # decoder pre-net, also on at inference (Tacotron 2)
    attention: str = "location_sensitive"  # a name registered in tacotron.network.attention
    attention_units: int = 256
    attention_rnn_units: int = 256
    location_filters: int = 32
    location_kernel_size: int = 31
    decoder_rnn_units: int = 256
    decoder_rnn_layers: int = 2
    # Post-net: mel -> linear spectrogram.
    post_conv_bank_k: int = 8
    post_channels: int = 128
    post_projection_channels: int = 256
    post_highway_layers: int = 4
    # Features (must match the preprocessing job's AudioConfig).
    num_mels: int = AudioConfig.num_mels
    num_freq: int = AudioConfig().num_freq

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@gin.configurable
@dataclasses.dataclass(frozen=True)
class LossConfig:
    """Weights of the loss parts; guided attention (Tachibana et al. 2018) pulls alignment to the diagonal early."""

    mel_weight: float = 1.0
    linear_weight: float = 1.0
    # Matching each utterance's per-bin variance over time (tacotron.network.losses.masked_std_l1): against
    # over-smoothing.
    variance_weight: float = 0.0
    stop_weight: float = 1.0
    stop_positive_weight: float = 5.0  # one "stop" step per utterance against dozens of "go on" steps
    guided_attention_weight: float = 0.0
    guided_attention_sigma: float = 0.2
    # The guided attention weight is multiplied by this every step; 1.0 keeps it constant.
    guided_attention_decay: float = 1.0
    # Scheduled sampling (Bengio et al. 2015): probability of feeding the model its own previous frame,
    # ramped linearly from 0 to `scheduled_sampling_max` between the two steps. 0 = pure teacher forcing.
    scheduled_sampling_max: float = 0.0
    scheduled_sampling_start: int = 0
    scheduled_sampling_end: int = 1


@gin.configurable
@dataclasses.dataclass(frozen=True)
class SynthesisConfig:
    """Free-running decoding and Griffin-Lim settings shared by evaluation, synthesis and export."""

    # Decoding stops when the stop token's probability passes this, or at the step limit: at most
    # `max_frames_per_char` frames per input character (plus `min_frames`), so decoding can never run forever.
    stop_threshold: float = 0.5
    max_frames_per_char: float = 12.0
    min_frames: int = 16
    # Pre-net dropout stays on at inference (Tacotron 2: without it the decoder was trained never to see clean
    # pre-net outputs); a fixed seed makes synthesis repeatable. docs/SPEAKING.md measures both settings.
    prenet_dropout: bool = True
    seed: int = 1234
    griffin_lim_iters: int = 60
    # Magnitudes are raised to this before phase recovery. 1.2 is the Tacotron paper's value: on a tuning set of
    # held-out sentences (not the benchmark's) it kept minimal pairs 1.28x apart in the heard audio, against 1.21x at
    # 1.5, which buries the envelope under exaggerated harmonics (docs/SPEAKING.md).
    griffin_lim_power: float = 1.2
    # Longer texts are split into sentences and chunks of at most this many characters, synthesized one by one.
    max_chars: int = 200
    batch_size: int = 16  # chunks decoded together
    # The exported SavedModel refuses longer inputs (memory grows with text length x decoder steps).
    max_serving_chars: int = 1000

    def max_steps(self, text_length: int, reduction_factor: int) -> int:
        """Decoder step limit for a text length: ceil((length * max_frames_per_char + min_frames) / r)."""
        return math.ceil((text_length * self.max_frames_per_char + self.min_frames) / reduction_factor)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@gin.configurable
@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How to train; the model itself is TacotronConfig, the loss LossConfig."""

    steps: int = 100_000
    # Examples per weight update, over all replicas, workers and accumulation steps: what the learning rate is scaled
    # to, what `examples_per_sec` counts. Steps (steps, warmup_steps, decay_steps, log/checkpoint intervals, the
    # logged step) count updates.
    batch_size: int = 32
    # Large batches (Goyal et al. 2017; You et al. 2019): the learning rate is tuned at reference_batch_size and
    # scaled to batch_size by lr_scaling, after warmup_steps of linear warmup.
    learning_rate: float = 1e-3
    reference_batch_size: int = 32
    lr_scaling: str = "sqrt"
    warmup_steps: int = 1000
    decay: str = "cosine"
    decay_steps: int = 0  # 0: decay over the whole run (steps - warmup_steps)
    min_learning_rate: float = 1e-5
    optimizer: str = "adam"  # or "lamb"
    weight_decay: float = 0.0
    clip_norm: float = 1.0
    # Gradient accumulation: each update averages the gradients of this many micro-batches of batch_size /
    # accumulation_steps, run one after another: the memory of one micro-batch. Each micro-batch's loss is a mean
    # over its own frames (as each replica's is on TensorFlow), and batch norm statistics span one micro-batch.
    accumulation_steps: int = 1
    mixed_precision: bool = False  # bfloat16 compute, float32 weights and loss; JAX or TensorFlow, CPU too
    jit_compile: bool = True  # XLA; the TensorFlow backend cannot compile the decoder's scan, so it ignores this
    # Input pipeline.
    bucket_count: int = 4
    shuffle_buffer: int = 2048
    seed: int = 0
    # Visibility and safety.
    log_every: int = 50
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    image_every: int = 500
    audio_every: int = 2000
    alignment_threshold: float = 0.5
    # Free-running sentence identification on up to `evaluate_utterances` eval utterances every this many steps
    # (0 = never): costs a compile and a few seconds each time, and is what says whether the model speaks.
    evaluate_every: int = 0
    evaluate_utterances: int = 16
    max_bad_steps: int = 10
    # One trainer per model_dir (tacotron.storage.lease): a lease not renewed for this long is taken over, so a pod
    # that was killed blocks its retry for at most this long (a holder that died on the same machine, not at all).
    lease_ttl_s: float = 120.0


class ConfigError(ValueError):
    """A gin file or binding that is missing, does not parse or names no setting; its message is one line."""


@dataclasses.dataclass(frozen=True)
class Configs:
    """Every setting of one run: parsed once by the command, passed down, written to model_dir/config.gin."""

    model: TacotronConfig = dataclasses.field(default_factory=TacotronConfig)
    loss: LossConfig = dataclasses.field(default_factory=LossConfig)
    synthesis: SynthesisConfig = dataclasses.field(default_factory=SynthesisConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    audio: AudioConfig = dataclasses.field(default_factory=AudioConfig)

    def to_gin(self) -> str:
        """Every gin-bound setting, defaults included, so that a model_dir does not change meaning when a default
        does; `read_gin` and gin itself read it back."""
        lines = []
        for config in (self.model, self.loss, self.synthesis, self.train):
            name = type(config).__name__
            lines += [f"# {name}"] + [f"{name}.{f.name} = {getattr(config, f.name)!r}"
                                      for f in dataclasses.fields(config)] + [""]
        return "\n".join(lines)


# Gin name -> the Configs field it sets, and its class.
GIN_CONFIGS = {cls.__name__: (field, cls) for field, cls in (
    ("model", TacotronConfig), ("loss", LossConfig), ("synthesis", SynthesisConfig), ("train", TrainConfig))}


def find_gin_file(name: str) -> str:
    """A path, or the name of a config shipped in the package (tiny, tiny.gin, base_8khz, large_batch)."""
    if os.path.exists(name):
        return name
    shipped = resources.files("tacotron.configs")
    for candidate in (name, name + ".gin"):
        if shipped.joinpath(candidate).is_file():
            return str(shipped.joinpath(candidate))
    available = sorted(p.name for p in shipped.iterdir() if p.name.endswith(".gin"))
    raise ConfigError(f"--gin_file {name!r}: no such file, and not a shipped config ({', '.join(available)})")


def parse_gin(files: Sequence[str], params: Sequence[str]) -> Configs:
    """The configs that gin files (paths or shipped names) and bindings give. This replaces gin's global bindings:
    only a command's entry point calls it, once."""
    gin.clear_config()
    # Shipped configs `include` each other by bare name.
    gin.add_config_file_search_path(str(resources.files("tacotron.configs")))
    paths = [find_gin_file(f) for f in files]
    try:
        gin.parse_config_files_and_bindings(paths, list(params), finalize_config=False)
        return Configs(TacotronConfig(), LossConfig(), SynthesisConfig(), TrainConfig())
    except (ValueError, KeyError, SyntaxError, TypeError) as e:
        # gin appends the file/line context on later lines; the first line names the binding.
        raise ConfigError(f"gin: {str(e).strip().splitlines()[0]}") from None


class _LiteralsOnly(config_parser.ParserDelegate):
    """config.gin holds literal values only: a reference or macro there is an error, not something to resolve."""

    def configurable_reference(self, scoped_configurable_name: str, evaluate: bool) -> Any:
        raise ConfigError(f"gin: @{scoped_configurable_name}: only literal values are read here")

    def macro(self, macro_name: str) -> Any:
        raise ConfigError(f"gin: %{macro_name}: only literal values are read here")


def read_gin(text: str, params: Sequence[str] = ()) -> Configs:
    """The configs that gin bindings (a model_dir's config.gin, then `params`) give, over the defaults; gin's global
    bindings are neither read nor changed."""
    values: dict[str, dict[str, Any]] = {name: {} for name in GIN_CONFIGS}
    for source in (text, *params):
        try:
            statements = list(config_parser.ConfigParser(source, _LiteralsOnly()))
        except ConfigError as e:
            # gin appends the location on later lines of the message.
            raise ConfigError(str(e).splitlines()[0]) from None
        except (SyntaxError, tokenize.TokenError):
            raise ConfigError(f"gin: cannot parse {source.strip().splitlines()[0] if source.strip() else source!r}") \
                from None
        for statement in statements:
            if not isinstance(statement, config_parser.BindingStatement) or statement.scope:
                raise ConfigError(f"gin: only plain bindings are read here: {statement.location.line_content.strip()}")
            name = statement.selector.rsplit(".", 1)[-1]
            if name not in GIN_CONFIGS or statement.arg_name not in {f.name for f in dataclasses.fields(
                    GIN_CONFIGS[name][1])}:
                raise ConfigError(f"gin: no setting {statement.selector}.{statement.arg_name}")
            values[name][statement.arg_name] = statement.value
    try:
        return Configs(**{field: cls(**values[name]) for name, (field, cls) in GIN_CONFIGS.items()})
    except TypeError as e:
        raise ConfigError(f"gin: {e}") from None
