"""The one model config object: every Tacotron hyperparameter, bindable from gin files."""

from __future__ import annotations

import dataclasses
import math

import gin

from tacotron.audio import AudioConfig


@gin.configurable
@dataclasses.dataclass(frozen=True)
class TacotronConfig:
    """Tacotron 1 (Wang et al. 2017) sizes; defaults are the paper's, at 8 kHz features."""

    # Text side.
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
    attention: str = "location_sensitive"  # a name registered in tacotron.attention
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
    griffin_lim_power: float = 1.5  # magnitudes are raised to this before phase recovery (sharper harmonics)
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
