"""Audio clips, features and models for speech-command classification."""

from podium.audio.clips import AudioError, fit_length, read_clip, resample, write_clip

__all__ = ["AudioError", "fit_length", "read_clip", "resample", "write_clip"]
