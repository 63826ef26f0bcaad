"""The fork server: a clean process that hands each expansion to a fresh confined child.

`expander.sandbox.client` starts it with an empty environment, so neither it nor its children
ever hold the service's settings or secrets. It loads the engine once and exercises it
(a confined child cannot open files, so it cannot load modules later), then serves
requests from stdin, each in a child of its own (`expander.sandbox.children`) that
serves exactly that one request, so nothing carries over from one request to the next.

A request goes to a *spare*: a child forked and primed ahead of time, so neither forking
nor priming is on the request's path. Everything else waits until the request is
answered and no other is waiting: reaping the children done with, keeping what the
request compiled (`expander.sandbox.remember`), forking spares to keep `_SPARES` ready,
and replacing spares forked before the latest templates were kept once requests pause.
Each of these is a short step, and stdin is checked between steps, so a request that
arrives waits for one step at most.

Frames on all pipes are an 8-byte big-endian length followed by that many bytes. The
service sends two frames (the limits as JSON, then the request body) and gets one: an
answer, which is a 3-digit HTTP status followed by the JSON body.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import select
import sys
import time
from collections import deque
from typing import BinaryIO

from expander.models import Limits
from expander.sandbox.answers import failure, warm_up
from expander.sandbox.children import HEADER, Child, collect, hand_over, spawn
from expander.sandbox.remember import JinjaCompilation, kept_size, remember

__all__ = ["failure", "main", "read_frame", "write_frames"]

_SPARES = 2
# How long requests must pause before a spare that lacks the latest templates is replaced.
_SETTLE_SECONDS = 0.05
# How soon children killed but not yet gone are looked for again while nothing else is to
# do; the wait doubles while they linger, up to the longest.
_REAP_SECONDS = 0.002
_LONGEST_REAP_SECONDS = 0.25
# Bodies of answered requests whose templates are still to be kept; older ones are dropped.
_BODIES_KEPT = 2
# Digests of the latest bodies remembered: the same body again has nothing new to keep.
_DIGESTS_KEPT = 64


def read_frame(stream: BinaryIO) -> bytes | None:
    """One frame from `stream`, or None at end of file."""
    header = _read_exactly(stream, HEADER.size)
    if header is None:
        return None
    (size,) = HEADER.unpack(header)
    return _read_exactly(stream, size)


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def write_frames(stream: BinaryIO, *frames: bytes) -> None:
    """Write frames in one go and flush them: the reader wakes once for all of them."""
    stream.write(b"".join(part for data in frames for part in (HEADER.pack(len(data)), data)))
    stream.flush()


class _Server:
    """Answers the requests read from `requests` on `answers`, and works between them."""

    def __init__(self, devnull: int, requests: BinaryIO, answers: BinaryIO):
        self._devnull = devnull
        self._requests = requests
        self._answers = answers
        self._spares: deque[Child] = deque()
        self._dying: list[Child] = []
        self._reap_pause = _REAP_SECONDS
        self._bodies: deque[bytes] = deque(maxlen=_BODIES_KEPT)
        self._remembered: deque[bytes] = deque(maxlen=_DIGESTS_KEPT)
        self._compilation: JinjaCompilation | None = None
        # Grows with what the server keeps; spares forked before a change lack it.
        self._generation = 0
        self._kept = kept_size()
        self._answered_at = time.monotonic()

    def serve(self) -> None:
        """Answer requests until stdin closes."""
        try:
            while True:
                self._work_until_a_request_waits()
                limits = read_frame(self._requests)
                body = None if limits is None else read_frame(self._requests)
                if body is None:
                    return
                self._answer(limits, body)
        finally:
            self._stop()

    def _answer(self, limits: bytes, body: bytes) -> None:
        child = self._take_spare()
        failed = hand_over(child, limits, body)
        answer = failed or collect(child, Limits.from_dict(json.loads(limits)))
        write_frames(self._answers, answer)
        self._answered_at = time.monotonic()
        self._dispose(child)
        self._bodies.append(body)

    def _take_spare(self) -> Child:
        """The oldest spare forked after the latest templates were kept, else the oldest;
        without spares, a child forked now (not primed: the request is waiting)."""
        for child in [child for child in self._spares if child.reaped()]:
            # Gone while waiting (killed from outside): no use.
            self._spares.remove(child)
            child.kill()
        for child in self._spares:
            if child.generation == self._generation:
                self._spares.remove(child)
                return child
        if self._spares:
            return self._spares.popleft()
        return spawn(self._devnull, self._generation, primed=False)

    def _work_until_a_request_waits(self) -> None:
        watched = [self._requests]
        while not select.select(watched, [], [], 0)[0]:
            if self._step():
                continue
            pause = self._pause()
            if self._compilation is not None:
                select.select([*watched, self._compilation.child.answer_fd], [], [], pause)
            else:
                select.select(watched, [], [], pause)

    def _step(self) -> bool:
        """One short piece of the work between requests; False when none is to do now."""
        if self._reap():
            return True
        if self._compilation is not None:
            if self._compilation.advance():
                if self._compilation.done:
                    self._dispose(self._compilation.child)
                    self._compilation = None
                    self._note_kept()
                return True
        elif self._bodies:
            body = self._bodies.popleft()
            digest = hashlib.sha1(body, usedforsecurity=False).digest()
            if digest not in self._remembered:
                self._remembered.append(digest)
                self._compilation = remember(body, self._devnull)
                self._note_kept()
            return True
        if len(self._spares) < _SPARES:
            self._spares.append(spawn(self._devnull, self._generation, primed=True))
            return True
        stale = [child for child in self._spares if child.generation != self._generation]
        if stale and self._settled():
            self._spares.remove(stale[0])
            self._dispose(stale[0])
            self._spares.append(spawn(self._devnull, self._generation, primed=True))
            return True
        return False

    def _pause(self) -> float | None:
        """How long to wait for a request before looking for work again (None: no work)."""
        pauses = []
        if self._dying:
            pauses.append(self._reap_pause)
            self._reap_pause = min(2 * self._reap_pause, _LONGEST_REAP_SECONDS)
        if self._compilation is not None:
            pauses.append(max(self._compilation.deadline - time.monotonic(), 0))
        if any(child.generation != self._generation for child in self._spares):
            pauses.append(max(self._answered_at + _SETTLE_SECONDS - time.monotonic(), 0))
        return min(pauses, default=None)

    def _settled(self) -> bool:
        return time.monotonic() - self._answered_at >= _SETTLE_SECONDS

    def _note_kept(self) -> None:
        kept = kept_size()
        if kept != self._kept:
            self._kept = kept
            self._generation += 1

    def _dispose(self, child: Child) -> None:
        child.kill()
        self._dying.append(child)
        self._reap_pause = _REAP_SECONDS

    def _reap(self) -> bool:
        """Reap the children that have exited; whether there were any."""
        alive = [child for child in self._dying if not child.reaped()]
        reaped = len(alive) < len(self._dying)
        self._dying = alive
        if reaped:
            self._reap_pause = _REAP_SECONDS
        return reaped

    def _stop(self) -> None:
        children = [*self._spares, *self._dying]
        if self._compilation is not None:
            children.append(self._compilation.child)
        for child in children:
            child.kill()
        for child in children:
            child.reaped(block=True)


def main() -> None:
    """Serve requests from stdin until it closes."""
    warm_up()
    gc.collect()
    # Children only read the server's objects; keep their pages shared.
    gc.freeze()
    devnull = os.open(os.devnull, os.O_RDWR)
    # Unbuffered: whether a request waits is asked of the pipe itself.
    requests = os.fdopen(sys.stdin.fileno(), "rb", buffering=0, closefd=False)
    _Server(devnull, requests, sys.stdout.buffer).serve()


if __name__ == "__main__":
    main()
