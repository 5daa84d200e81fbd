"""The embedded speech-command competition: ten words spoken by espeak-ng, deterministic from a seed.

Train clips are clean; test clips carry background noise, echo, random polarity and level changes, and some
come from voices never heard in training. Clips are mono float32 at the project rate, exactly
`clip_seconds` long. A folder of background-noise clips comes with the data (as Speech Commands ships one),
for augmentation; the test noise is drawn from the same kinds of noise but never from those files.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from podium.clips import fit_length, resample

WORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
VARIANTS = [
    "m1",
    "m2",
    "m3",
    "m4",
    "m5",
    "m6",
    "m7",
    "f1",
    "f2",
    "f3",
    "f4",
    "f5",
    "klatt",
    "klatt2",
    "klatt3",
    "klatt4",
    "croak",
    "Andy",
    "Annie",
    "Denis",
    "Gene",
    "Jacky",
    "Mike",
    "adam",
    "anika",
    "aunty",
    "boris",
    "david",
    "edward",
    "grandma",
    "grandpa",
    "john",
    "linda",
    "max",
    "norbert",
    "paul",
]
LANGUAGES = ["en", "en-us", "en-gb-x-rp"]
NOISE_KINDS = ["white", "pink", "brown", "hum", "babble"]


@dataclass(frozen=True)
class Speaker:
    voice: str  # espeak-ng voice, e.g. "en-us+m3"
    pitch: int  # espeak-ng pitch 0..99
    speed: int  # words per minute

    @property
    def name(self) -> str:
        return f"{self.voice}-p{self.pitch}-s{self.speed}"


@dataclass(frozen=True)
class Clip:
    audio: np.ndarray  # (samples,) float32 mono at the project rate, peak <= 1
    label: str
    speaker: str


def require_espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed; run `make setup` (it installs it with apt-get)")
    return exe


def speak(word: str, speaker: Speaker, sample_rate: int, amplitude: int = 120) -> np.ndarray:
    """espeak-ng's rendering of `word`, resampled to `sample_rate`, leading/trailing silence trimmed."""
    out = subprocess.run(
        [
            require_espeak(),
            "-v",
            speaker.voice,
            "-p",
            str(speaker.pitch),
            "-s",
            str(speaker.speed),
            "-a",
            str(amplitude),
            "--stdout",
            word,
        ],
        capture_output=True,
        check=True,
    )
    audio, rate = sf.read(io.BytesIO(out.stdout), dtype="float32")
    audio = resample(audio, rate, sample_rate)
    loud = np.nonzero(np.abs(audio) > 0.02 * np.abs(audio).max())[0]
    return audio[loud[0] : loud[-1] + 1] if len(loud) else audio


def make_speakers(rng: np.random.Generator, count: int, variants: list[str]) -> list[Speaker]:
    return [
        Speaker(
            f"{rng.choice(LANGUAGES)}+{rng.choice(variants)}", int(rng.integers(25, 75)), int(rng.integers(130, 200))
        )
        for _ in range(count)
    ]


def split_voices(rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """(voices heard in training, voices heard only in test)."""
    order = list(rng.permutation(VARIANTS))
    held_out = len(order) // 4
    return order[held_out:], order[:held_out]


def place(rng: np.random.Generator, word: np.ndarray, length: int) -> np.ndarray:
    """The word at a random position in a `length`-sample clip, cropped if the word is longer."""
    if len(word) >= length:
        return fit_length(word, length)
    start = int(rng.integers(0, length - len(word) + 1))
    return np.pad(word, (start, length - len(word) - start)).astype(np.float32)


def make_noise(
    rng: np.random.Generator, kind: str, length: int, sample_rate: int, babble_words: list[np.ndarray] | None = None
) -> np.ndarray:
    """A noise clip of unit RMS: white, pink (1/f), brown (1/f^2), mains hum, or babble of words."""
    if kind in ("white", "pink", "brown"):
        spectrum = np.fft.rfft(rng.normal(size=length))
        freqs = np.maximum(np.fft.rfftfreq(length, 1 / sample_rate), 1.0)
        spectrum /= {"white": 1.0, "pink": np.sqrt(freqs), "brown": freqs}[kind]
        noise = np.fft.irfft(spectrum, n=length)
    elif kind == "hum":
        t = np.arange(length) / sample_rate
        base = rng.choice([50.0, 60.0])
        noise = sum(
            rng.uniform(0.2, 1) / h * np.sin(2 * np.pi * base * h * t + rng.uniform(0, 6.3)) for h in range(1, 6)
        ) + 0.05 * rng.normal(size=length)
    elif kind == "babble":
        if not babble_words:
            raise ValueError("babble noise needs spoken words to mix")
        noise = np.zeros(length)
        for _ in range(6):
            w = babble_words[rng.integers(len(babble_words))][:length]
            start = int(rng.integers(0, length - len(w) + 1))
            noise[start : start + len(w)] += w * rng.uniform(0.3, 1)
    else:
        raise ValueError(f"unknown noise kind {kind!r}; kinds are {NOISE_KINDS}")
    return (noise / (np.sqrt(np.mean(noise**2)) + 1e-9)).astype(np.float32)


def corrupt_test_clip(
    rng: np.random.Generator, audio: np.ndarray, sample_rate: int, babble_words: list[np.ndarray]
) -> np.ndarray:
    """Background noise (SNR 0-20 dB), echo, random polarity and level: conditions training lacks."""
    out = audio.astype(np.float64)
    rms = np.sqrt(np.mean(out**2)) + 1e-9
    kind = NOISE_KINDS[rng.integers(len(NOISE_KINDS))]
    snr_db = rng.uniform(0, 20)
    out = out + make_noise(rng, kind, len(out), sample_rate, babble_words) * rms / 10 ** (snr_db / 20)
    if rng.random() < 0.6:
        delay = int(rng.uniform(0.04, 0.25) * sample_rate)
        echo = np.zeros_like(out)
        echo[delay:] = out[:-delay] * rng.uniform(0.3, 0.7)
        out = out + echo
    if rng.random() < 0.5:
        out = -out
    out = out * 10 ** (rng.uniform(-18, 0) / 20) / max(1.0, np.abs(out).max() / 0.99)
    return out.astype(np.float32)


def _render(
    jobs: list[tuple[str, Speaker]], sample_rate: int, progress: Callable[[int], None] | None
) -> list[np.ndarray]:
    def one(job: tuple[str, Speaker]) -> np.ndarray:
        word = speak(job[0], job[1], sample_rate)
        if progress:
            progress(1)
        return word

    with ThreadPoolExecutor(max_workers=4) as pool:  # espeak-ng runs as a subprocess: threads suffice
        return list(pool.map(one, jobs))


def generate(
    rng: np.random.Generator,
    train_per_word: int,
    test_per_word: int,
    unseen_voice_fraction: float,
    sample_rate: int,
    clip_seconds: float,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[Clip], list[Clip]]:
    """(train clips, test clips); test clips are corrupted, a fraction spoken by unseen voices."""
    length = round(sample_rate * clip_seconds)
    seen, unseen = split_voices(rng)
    train_speakers = make_speakers(rng, 24, seen)
    unseen_speakers = make_speakers(rng, 8, unseen)
    train_jobs = [(w, train_speakers[rng.integers(len(train_speakers))]) for w in WORDS for _ in range(train_per_word)]
    test_jobs = []
    for w in WORDS:
        for _ in range(test_per_word):
            pool = unseen_speakers if rng.random() < unseen_voice_fraction else train_speakers
            test_jobs.append((w, pool[rng.integers(len(pool))]))
    words = _render(train_jobs + test_jobs, sample_rate, progress)
    train = [
        Clip(_peak(place(rng, a, length), rng), w, s.name)
        for a, (w, s) in zip(words[: len(train_jobs)], train_jobs, strict=True)
    ]
    babble = words[: len(train_jobs)][::7]
    test = [
        Clip(corrupt_test_clip(rng, place(rng, a, length), sample_rate, babble), w, s.name)
        for a, (w, s) in zip(words[len(train_jobs) :], test_jobs, strict=True)
    ]
    return train, test


def _peak(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Clean training clips at a moderate level (peak 0.3-0.9)."""
    return (audio / (np.abs(audio).max() + 1e-9) * rng.uniform(0.3, 0.9)).astype(np.float32)


def generate_noise_clips(
    rng: np.random.Generator,
    count: int,
    sample_rate: int,
    seconds: float = 5.0,
    babble_words: list[np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """{file name: clip} background-noise clips, peak 0.5, cycling through the noise kinds."""
    kinds = [k for k in NOISE_KINDS if k != "babble" or babble_words]
    out = {}
    for i in range(count):
        kind = kinds[i % len(kinds)]
        noise = make_noise(rng, kind, round(seconds * sample_rate), sample_rate, babble_words)
        out[f"{kind}_{i:02d}.wav"] = (noise / np.abs(noise).max() * 0.5).astype(np.float32)
    return out
