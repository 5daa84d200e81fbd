"""Audio classifiers: features + a network, as one module that takes waveforms.

`create_audio_model(name, ...)` gives a timm network by any `timm.create_model` name (resnet18,
densenet121, efficientnet_b0, ...), or one of podium's cheap baselines: `small_cnn` (conv blocks with batch
norm and dropout -> flatten -> dense) and `cnn_gru` / `cnn_lstm` (conv blocks, then a bidirectional GRU/LSTM
over time). Input to every network: (B, C, F, T) standardised spectrograms.
"""

from __future__ import annotations

from collections.abc import Callable

import timm
import torch
from torch import nn

from podium.weights import load_weights


def _conv_block(c_in: int, c_out: int, dropout: float, pool: tuple[int, int]) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(pool),
        nn.Dropout(dropout),
    )


class SmallCNN(nn.Module):
    """Four conv blocks (16-32-64-128 channels) -> flatten a 2x2 grid -> dense -> classes."""

    def __init__(self, num_classes: int, in_chans: int, width: int = 16, dropout: float = 0.2):
        super().__init__()
        widths = [width * 2**i for i in range(4)]
        self.blocks = nn.Sequential(
            *(
                _conv_block(c_in, c_out, dropout, (2, 2))
                for c_in, c_out in zip([in_chans, *widths[:-1]], widths, strict=True)
            )
        )
        self.pool = nn.AdaptiveAvgPool2d((2, 2))  # any input size -> a fixed flatten length
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(widths[-1] * 4, 128),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(128, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.blocks(x)))


class CNNRNN(nn.Module):
    """Conv blocks pooling frequency (and time once), then a bidirectional GRU/LSTM over time, mean-pooled."""

    def __init__(
        self, num_classes: int, in_chans: int, rnn: str = "gru", width: int = 16, hidden: int = 96, dropout: float = 0.2
    ):
        super().__init__()
        widths = [width * 2**i for i in range(3)]
        pools = [(2, 2), (2, 1), (2, 1)]
        self.blocks = nn.Sequential(
            *(
                _conv_block(c_in, c_out, dropout, pool)
                for c_in, c_out, pool in zip([in_chans, *widths[:-1]], widths, pools, strict=True)
            )
        )
        self.freq_pool = nn.AdaptiveAvgPool2d((4, None))
        cls = {"gru": nn.GRU, "lstm": nn.LSTM}[rnn]
        self.rnn = cls(widths[-1] * 4, hidden, num_layers=2, batch_first=True, bidirectional=True, dropout=dropout)
        self.head = nn.Linear(2 * hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.freq_pool(self.blocks(x))  # (B, C, 4, T')
        x = x.flatten(1, 2).transpose(1, 2)  # (B, T', C*4)
        out, _ = self.rnn(x)
        return self.head(out.mean(dim=1))


BASELINES: dict[str, Callable[..., nn.Module]] = {
    "small_cnn": SmallCNN,
    "cnn_gru": lambda num_classes, in_chans: CNNRNN(num_classes, in_chans, "gru"),
    "cnn_lstm": lambda num_classes, in_chans: CNNRNN(num_classes, in_chans, "lstm"),
}


def create_network(name: str, num_classes: int, in_chans: int, pretrained: str = "") -> nn.Module:
    """A baseline by name, or any timm model; `pretrained` is a local path or URL of timm-format weights
    (adapted by timm to `in_chans` and with the classifier replaced for `num_classes`), loaded weights-only."""
    if name in BASELINES:
        if pretrained:
            raise ValueError(f"{name} is trained from scratch; pretrained weights apply to timm models only")
        return BASELINES[name](num_classes=num_classes, in_chans=in_chans)
    if not timm.is_model(name):
        raise ValueError(
            f"unknown audio model {name!r}: neither a podium baseline {sorted(BASELINES)} nor a "
            "timm model (see timm.list_models())"
        )
    # The weights the user named, loaded weights-only by podium and handed to timm as a state dict (timm then
    # adapts the stem to `in_chans` and drops a classifier of another size). Never timm's hub: a hub id would
    # win over a given URL and go online.
    overlay = {"state_dict": load_weights(pretrained, "train_audio.pretrained")} if pretrained else None
    return timm.create_model(
        name, pretrained=bool(pretrained), num_classes=num_classes, in_chans=in_chans, pretrained_cfg_overlay=overlay
    )


class AudioClassifier(nn.Module):
    """(B, samples) waveforms -> (B, classes) logits. Spectrograms are standardised per clip and channel,
    so the clip's level (which test clips vary) does not shift the network's input."""

    def __init__(self, features: nn.Module, network: nn.Module):
        super().__init__()
        self.features, self.network = features, network

    def spectrogram(self, wave: torch.Tensor) -> torch.Tensor:
        spec = self.features(wave)  # (B, C, F, T)
        mean = spec.mean(dim=(2, 3), keepdim=True)
        std = spec.std(dim=(2, 3), keepdim=True).clamp_min(1e-5)
        return (spec - mean) / std

    def forward(self, wave: torch.Tensor, augment: Callable[[torch.Tensor], torch.Tensor] | None = None):
        spec = self.spectrogram(wave)
        return self.network(augment(spec) if augment else spec)
