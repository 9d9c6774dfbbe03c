"""Deliberate crash points, for tests that prove the unit of work is all-or-nothing.

Set PAGETRAIL_KILL_AT="NAME" or "NAME:N" and the process SIGKILLs itself the N-th time
(default 1st) it reaches checkpoint NAME. Unset (always, outside tests), a checkpoint costs one
dictionary lookup.
"""

from __future__ import annotations

import os
import signal

_spec = os.environ.get("PAGETRAIL_KILL_AT", "")
_name, _, _nth = _spec.rpartition(":") if _spec.rsplit(":", 1)[-1].isdigit() else (_spec, "", "")
_remaining = int(_nth or 1) if _name else 0


def checkpoint(name: str) -> None:
    global _remaining
    if not _name or name != _name:
        return
    _remaining -= 1
    if _remaining <= 0:
        os.kill(os.getpid(), signal.SIGKILL)
