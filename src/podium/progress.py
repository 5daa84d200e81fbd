"""Progress bars that read well in a terminal and in a log: a live tqdm bar when stderr is a terminal, and
otherwise one plain line at most every `LOG_INTERVAL` seconds (plus the last), instead of a redraw per step
written into `make repro`'s or a CI log."""

from __future__ import annotations

import sys
from typing import IO

from tqdm import tqdm

LOG_INTERVAL = 30.0  # s between progress lines when stderr is not a terminal


class _Lines:
    """A stream for tqdm that turns each redraw ('\\r' + bar) into one line."""

    def __init__(self, stream: IO[str]):
        self.stream = stream

    def write(self, text: str) -> None:
        text = text.replace("\r", "").strip()
        if text:
            self.stream.write(text + "\n")

    def flush(self) -> None:
        self.stream.flush()


def bar(
    iterable=None,
    *,
    total: int | None = None,
    desc: str,
    unit: str = "it",
    disable: bool = False,
    stream: IO[str] | None = None,
    **kw,
) -> tqdm:
    """A tqdm bar over `iterable` or of `total` `unit`s: live in a terminal, sparse lines elsewhere (`stream`:
    default stderr). Other keywords go to tqdm (`initial`, `unit_scale`)."""
    stream = stream or sys.stderr
    if stream.isatty():
        return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, file=stream, **kw)
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        disable=disable,
        file=_Lines(stream),
        mininterval=LOG_INTERVAL,
        maxinterval=LOG_INTERVAL * 4,
        ncols=100,
        ascii=True,
        **kw,
    )
