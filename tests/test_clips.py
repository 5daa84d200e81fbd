"""Reading clips: the stated rules for rates, channels, lengths, and clear errors for unusable files."""

import numpy as np
import pytest
import soundfile as sf

from podium.clips import AudioError, fit_length, read_clip, write_clip


def test_stereo_44k_becomes_mono_16k(tmp_path):
    t = np.arange(44100) / 44100
    left = 0.5 * np.sin(2 * np.pi * 300 * t)
    sf.write(tmp_path / "s.wav", np.stack([left, -left * 0], 1), 44100)
    clip = read_clip(tmp_path / "s.wav", 16000)
    assert clip.shape == (16000,) and clip.dtype == np.float32
    assert np.abs(clip).max() == pytest.approx(0.25, abs=0.01)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "unreadable audio"),
        (b"RIFF....WAVEfmt garbage", "unreadable audio"),
    ],
)
def test_unreadable_files_name_the_file(tmp_path, content, message):
    (tmp_path / "bad.wav").write_bytes(content)
    with pytest.raises(AudioError, match=f"bad.wav: {message}"):
        read_clip(tmp_path / "bad.wav", 16000)


def test_empty_and_nan_clips_are_rejected(tmp_path):
    sf.write(tmp_path / "empty.wav", np.zeros((0,), np.float32), 16000)
    with pytest.raises(AudioError, match="empty.wav: empty clip"):
        read_clip(tmp_path / "empty.wav", 16000)
    sf.write(tmp_path / "nan.wav", np.array([0.1, np.nan, 0.2], np.float32), 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="nan.wav: contains NaN"):
        read_clip(tmp_path / "nan.wav", 16000)


def test_fit_length_pads_short_and_centre_crops_long():
    assert fit_length(np.ones(3, np.float32), 5).tolist() == [1, 1, 1, 0, 0]
    assert fit_length(np.arange(10, dtype=np.float32), 4).tolist() == [3, 4, 5, 6]
    assert fit_length(np.arange(10, dtype=np.float32), 4, offset=6).tolist() == [6, 7, 8, 9]
    with pytest.raises(ValueError, match="outside"):
        fit_length(np.arange(10, dtype=np.float32), 4, offset=7)


def test_writing_above_full_scale_is_an_error_not_clipping(tmp_path):
    with pytest.raises(AudioError, match="exceeds full scale"):
        write_clip(tmp_path / "loud.wav", np.array([0.5, 1.5], np.float32), 16000)
    assert not (tmp_path / "loud.wav").exists()


def test_a_float_file_over_full_scale_is_refused_never_clipped(tmp_path):
    from podium.clips import load_clip

    sf.write(tmp_path / "loud.wav", np.array([0.5, -1.25, 0.25] * 100, np.float32), 8000, subtype="FLOAT")
    audio, peak = load_clip(tmp_path / "loud.wav", 8000)
    assert peak == 1.25 and np.abs(audio).max() == pytest.approx(1.25)  # nothing clipped
    with pytest.raises(AudioError, match=r"loud.wav: peak 1.250 exceeds full scale"):
        read_clip(tmp_path / "loud.wav", 8000)
