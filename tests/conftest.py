"""Fixtures shared by the test folders."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def emulator():
    """A private ministack on a free port for one test module (its data removed afterwards)."""
    from local_runtime.services import free_port, start_ministack, stop_ministack

    port = free_port()
    emu = start_ministack(port)
    yield emu
    stop_ministack(port, remove_data=True)
