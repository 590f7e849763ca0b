"""Stack outputs: each layer declares the outputs it creates (name, the ``[services]`` switch that creates
them, description) in its own ``OUTPUTS``; :class:`Outputs` emits them, refusing a name no layer declared."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StackOutput:
    """One stack output."""

    name: str
    """Stable name (``make outputs`` and the local runtime read it)."""

    switch: str | None
    """The ``[services]`` switch that creates it; ``None`` = always present."""

    description: str


class Outputs:
    """Emits the declared outputs of one stack."""

    def __init__(self, stack, declared: tuple[StackOutput, ...]) -> None:
        self._stack = stack
        self._declared = {o.name: o for o in declared}

    def emit(self, name: str, value) -> None:
        from cdktf import TerraformOutput

        TerraformOutput(self._stack, name, value=value, description=self._declared[name].description)
