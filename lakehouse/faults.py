"""Fault points: named places in a job where a test can make it die, to prove the next run recovers.

``LAKEFORGE_FAULT=<point>`` makes :func:`point` raise :class:`InjectedFault` there (in-process tests);
``LAKEFORGE_FAULT=<point>:exit`` ends the process at once with ``os._exit(86)`` (no cleanup, no
``finally``: a killed driver, for jobs run with spark-submit). Unset, a point does nothing. Only the
tests set it. Standard library only.
"""
from __future__ import annotations

import os

__all__ = ["ENV", "EXIT_CODE", "InjectedFault", "point"]

ENV = "LAKEFORGE_FAULT"
EXIT_CODE = 86


class InjectedFault(RuntimeError):
    """Raised at the fault point named by ``LAKEFORGE_FAULT``."""


def point(name: str) -> None:
    wanted = os.environ.get(ENV, "")
    if not wanted:
        return
    target, _, mode = wanted.partition(":")
    if target != name:
        return
    print(f"[fault] {name}: injected fault ({mode or 'raise'})", flush=True)
    if mode == "exit":
        os._exit(EXIT_CODE)
    raise InjectedFault(f"injected fault at {name}")
