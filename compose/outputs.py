"""Stack outputs: each layer declares the outputs it creates (name, the ``[services]`` switch that creates
them and any further condition, description) in its own ``OUTPUTS``; :class:`Outputs` emits them, refusing a
name no layer declared."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from modules._bindings import core


@dataclass(frozen=True)
class StackOutput:
    """One stack output."""

    name: str
    """Stable name (``make outputs`` and the local runtime read it)."""

    switch: str | None
    """The ``[services]`` switch that creates it; ``None`` = always present."""

    description: str

    when: Callable[[Any], bool] | None = None
    """A further condition on the environment (``EnvironmentConfig -> bool``) where the switch alone does not
    decide (e.g. the warehouse load job: only where there is a warehouse); ``None`` = the switch decides."""

    def expected(self, config) -> bool:
        """Whether a stack of ``config`` (an ``EnvironmentConfig``) has this output."""
        return ((self.switch is None or bool(getattr(config.services, self.switch)))
                and (self.when is None or self.when(config)))


class Outputs:
    """Emits the declared outputs of one stack."""

    def __init__(self, stack, declared: tuple[StackOutput, ...]) -> None:
        self._stack = stack
        self._declared = {o.name: o for o in declared}

    def emit(self, name: str, value) -> None:
        TerraformOutput = core.TerraformOutput

        TerraformOutput(self._stack, name, value=value, description=self._declared[name].description)
