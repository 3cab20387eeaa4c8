"""Progress of the long steps on stderr, over tqdm; never part of the numbers or of stdout.

The API every module may call (issue 12, item 1)::

    from wlcsp import progress

    with progress.phase("mesh"):            # "wlcsp: mesh ..." then "wlcsp: mesh: 3.1 s"
        pm = build_mesh(design)

    with progress.bar(200, "Monte Carlo", unit="sample") as bar:
        for ...:
            ...
            bar.update()                    # a tqdm bar: bar.set_postfix_str("T = -40 °C")

When it shows
-------------
``configure(False)`` (the CLI's ``--quiet``) turns it off. Otherwise it shows when stderr is a
terminal, the convention of tqdm and of Unix tools (a bar is for a person watching; a log or a
pipe gets none), unless the environment variable :data:`ENV` says ``1`` (show, e.g. in a CI log
or a test) or ``0`` (hide). ``configure(True)`` forces it on. Whether it shows is decided when a
phase or bar starts, and the stream is ``sys.stderr`` at that moment (so pytest's capture sees
it). A disabled bar is tqdm's no-op bar: the calls cost nothing.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from tqdm import tqdm

from .errors import DesignError

ENV = "WLCSP_PROGRESS"
"""Environment variable: ``1`` shows progress even when stderr is not a terminal, ``0`` hides it."""

PREFIX = "wlcsp: "
"""Start of every progress line, so that it reads apart from the results."""

MIN_INTERVAL = 0.5
"""Seconds between redraws of a bar (tqdm's ``mininterval``): a redraw costs ~10 µs."""

Bar = tqdm
"""The type :func:`bar` returns (``update``, ``set_postfix_str``, ``close``; a context manager)."""

_setting: bool | None = None


def configure(enabled: bool | None) -> None:
    """Force progress on (True) or off (False, ``--quiet``); None: the automatic rule."""
    global _setting
    _setting = enabled


def enabled(stream: TextIO | None = None) -> bool:
    """Whether progress shows now on ``stream`` (default ``sys.stderr``); module docstring."""
    if _setting is not None:
        return _setting
    env = os.environ.get(ENV, "").strip()
    if env:
        if env not in ("0", "1"):
            raise DesignError(ENV, env, "1 (show progress) or 0 (hide it)")
        return env == "1"
    stream = sys.stderr if stream is None else stream
    return stream is not None and hasattr(stream, "isatty") and stream.isatty()


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Announce the phase ``name`` and, when it ends without an error, its wall time (s)."""
    if not enabled():
        yield
        return
    start = time.perf_counter()
    tqdm.write(f"{PREFIX}{name} ...", file=sys.stderr)
    yield
    tqdm.write(f"{PREFIX}{name}: {time.perf_counter() - start:.1f} s", file=sys.stderr)


def bar(total: float | None, desc: str, *, unit: str = "it", initial: float = 0,
        file: TextIO | None = None, show: bool = True) -> Bar:
    """A tqdm bar on ``file`` (default ``sys.stderr``) when progress shows, else a no-op bar.

    Parameters
    ----------
    total : float or None
        The count (or span, e.g. seconds of simulated time) at the end; None when unknown.
    desc : str
        What is counted, shown before the bar.
    unit : str
        Unit of the count (``sample``, ``case``, ``s``).
    initial : float
        Count already done (a resumed sweep).
    file : TextIO, optional
        The stream, default ``sys.stderr``.
    show : bool
        False: a no-op bar whatever the rule says (a caller asked for silence).
    """
    stream = sys.stderr if file is None else file
    return tqdm(total=total, desc=f"{PREFIX}{desc}", unit=unit, initial=initial, file=stream,
                disable=not (show and enabled(stream)), mininterval=MIN_INTERVAL,
                dynamic_ncols=True, leave=True)
