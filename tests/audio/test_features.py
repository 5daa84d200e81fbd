"""Features: shapes, and the mel/MFCC against librosa on the same clip."""

import librosa
import numpy as np
import pytest
import torch

from podium.audio.features import CHANNELS, create_features, mel_filterbank

SR = 16000
KW = dict(
    sample_rate=SR,
    n_fft=512,
    hop=160,
    n_mels=64,
    fmin=20.0,
    fmax=4000.0,
    n_mfcc=20,
    trimel=[[256, 80], [512, 160], [1024, 320]],
)


@pytest.fixture(scope="module")
def clip():
    t = np.arange(SR) / SR
    rng = np.random.default_rng(0)
    return (0.4 * np.sin(2 * np.pi * 440 * t) * np.exp(-3 * t) + 0.05 * rng.normal(size=SR)).astype(np.float32)


def test_mel_filterbank_equals_librosa():
    ours = mel_filterbank(SR, 512, 64, 20.0, 4000.0)
    theirs = librosa.filters.mel(sr=SR, n_fft=512, n_mels=64, fmin=20.0, fmax=4000.0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-8)


def test_logmel_matches_librosa_within_0_01_db(clip):
    ours = create_features("logmel", **KW)(torch.from_numpy(clip)[None])[0, 0].numpy()
    mel = librosa.feature.melspectrogram(
        y=clip, sr=SR, n_fft=512, hop_length=160, n_mels=64, fmin=20.0, fmax=4000.0, power=2.0
    )
    theirs = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80.0)
    assert ours.shape == theirs.shape == (64, 101)
    assert np.abs(ours - theirs).max() < 0.01  # dB; float32 STFT vs librosa's float32/64 mix


def test_mfcc_matches_librosa(clip):
    ours = create_features("mfcc", **KW)(torch.from_numpy(clip)[None])[0, 0].numpy()
    mel = librosa.feature.melspectrogram(y=clip, sr=SR, n_fft=512, hop_length=160, n_mels=64, fmin=20.0, fmax=4000.0)
    theirs = librosa.feature.mfcc(S=librosa.power_to_db(mel, top_db=80.0), n_mfcc=20)
    assert ours.shape == theirs.shape == (20, 101)
    assert np.abs(ours - theirs).max() < 0.05  # coefficients are in the hundreds


@pytest.mark.parametrize("kind", sorted(CHANNELS))
def test_batched_shapes(kind):
    out = create_features(kind, **KW)(torch.randn(3, SR) * 0.1)
    n_bins = KW["n_mfcc"] if kind == "mfcc" else KW["n_mels"]
    assert out.shape == (3, CHANNELS[kind], n_bins, 101)
    assert torch.isfinite(out).all()


def test_trimel_channels_differ_in_resolution():
    # A click: the short window localises it in time, the long one smears it over more frames.
    wave = torch.zeros(1, SR)
    wave[0, SR // 2] = 1.0
    out = create_features("trimel", **KW)(wave)[0]
    active = [(ch.amax(0) > ch.amax() - 20).sum().item() for ch in out]
    assert active[0] < active[2]


def test_unknown_kind_and_bad_band_are_clear_errors():
    with pytest.raises(ValueError, match="valid kinds are"):
        create_features("cqt", **KW)
    with pytest.raises(ValueError, match="fmax"):
        mel_filterbank(SR, 512, 64, 20.0, 9000.0)
