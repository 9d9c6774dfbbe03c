"""Per-host politeness inside one process: at most `per_host` requests in flight per host, and
the delay counted from the END of one response to the START of the next request to that host;
with a delay set, a host that answers slowly gets at least its last response time between
requests (the delay adapts to the host).
(Across processes and machines the archive's host claims do the same: storage/frontier.py.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass


class HostHeldOff(Exception):
    """The host asked us to stay away (Retry-After) longer than the caller will wait."""

    def __init__(self, host: str, seconds: float) -> None:
        super().__init__(f"{host} asked us to wait {seconds:.0f} s more (Retry-After)")
        self.host, self.seconds = host, seconds


@dataclass
class Turn:
    """One request's turn at a host. The holder sets `started`/`ended` (monotonic) around the
    request itself: the delay runs from `ended`, and a slow host's adaptive delay counts only
    its answer, not what the holder did before or after it in the turn (claiming the host in
    the archive, waiting for a fetch slot). Unset, the whole turn counts."""

    started: float | None = None
    ended: float | None = None


class HostSlots:
    def __init__(self, per_host: int = 1) -> None:
        self.per_host = max(1, per_host)
        self._sems: dict[str, asyncio.Semaphore] = {}
        self._gates: dict[str, asyncio.Lock] = {}
        self._next_start: dict[str, float] = {}  # monotonic: politeness delay
        self._hold: dict[str, float] = {}  # monotonic: Retry-After, back-off
        self._last_took: dict[str, float] = {}  # seconds the host's last response took
        self._queued: dict[str, int] = {}  # requests of this process waiting for a host or in flight

    def queued(self, host: str) -> int:
        """Requests of this process to `host` waiting for their turn or in flight."""
        return self._queued.get(host, 0)

    def hold_off(self, host: str, until: float) -> None:
        """Keep the host closed until a monotonic time (Retry-After, back-off)."""
        self._hold[host] = max(self._hold.get(host, 0.0), until)

    def held_until(self, host: str) -> float:
        """The monotonic time a Retry-After or back-off keeps the host closed until (0: open)."""
        return self._hold.get(host, 0.0)

    @asynccontextmanager
    async def slot(self, host: str, delay: float, *, max_hold: float | None = None) -> AsyncIterator[Turn]:
        """Wait for the host's turn. max_hold: raise HostHeldOff rather than wait out a
        Retry-After longer than this (also one that arrives while waiting in line)."""
        if host not in self._sems:
            self._sems[host] = asyncio.Semaphore(self.per_host)
            self._gates[host] = asyncio.Lock()
        self._queued[host] = self._queued.get(host, 0) + 1
        try:
            async with self._slot(host, delay, max_hold) as turn:
                yield turn
        finally:
            self._queued[host] -= 1

    @asynccontextmanager
    async def _slot(self, host: str, delay: float, max_hold: float | None) -> AsyncIterator[Turn]:
        async with self._sems[host]:
            async with self._gates[host]:  # starts to one host are spaced one at a time
                while True:
                    held = self._hold.get(host, 0.0) - time.monotonic()
                    if max_hold is not None and held > max_hold:
                        raise HostHeldOff(host, held)
                    wait = max(self._next_start.get(host, 0.0), self._hold.get(host, 0.0)) - time.monotonic()
                    if wait <= 0:
                        break
                    await asyncio.sleep(wait)
                if self.per_host > 1:  # several in flight: space their starts by the delay
                    self._next_start[host] = time.monotonic() + delay
            turn = Turn()
            entered = time.monotonic()
            try:
                yield turn
            finally:
                ended = turn.ended if turn.ended is not None else time.monotonic()
                took = ended - (turn.started if turn.started is not None else entered)
                self._last_took[host] = took
                # A slow host is a busy host: when a delay is set at all, wait at least as long
                # as its last response took (capped), so a struggling server gets air.
                effective = max(delay, min(took, 30.0)) if delay > 0 else 0.0
                if self.per_host == 1:  # one in flight: the delay runs from this response's end
                    self._next_start[host] = ended + effective
