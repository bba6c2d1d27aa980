"""Registries of agent types and virtual sensors: a new kind is a class, not an edit of the model.

:class:`~syntwin.agents.model.CrowdModel` builds the agent types and sensors named in its configuration
(``CrowdConfig.agent_types``, ``CrowdConfig.sensors``) from these registries; a user adds one with the
decorator and names it in the configuration::

    @SENSORS.register
    class DoorCounter(Sensor):
        name = "door_counter"
        figures = ("passing",)
        ...

Names resolve through :meth:`Registry.resolve`, whose error lists the valid names.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> class, filled by the :meth:`register` decorator.

    Args:
        kind: What is registered (used in error messages: ``"sensor"``, ``"agent type"``).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._classes: dict[str, type[T]] = {}

    def register(self, cls: type[T]) -> type[T]:
        """Register ``cls`` under its ``name`` class attribute (a decorator; returns ``cls``)."""
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name:
            raise TypeError(f"a {self.kind} class needs a non-empty string 'name' attribute: {cls!r}")
        if name in self._classes and self._classes[name] is not cls:
            raise ValueError(f"{self.kind} {name!r} is already registered ({self._classes[name]!r})")
        self._classes[name] = cls
        return cls

    def resolve(self, spec: str | type[T]) -> type[T]:
        """The class registered as ``spec`` (a name), or ``spec`` itself if it is a registered class."""
        if isinstance(spec, type) and spec in self._classes.values():
            return spec
        try:
            return self._classes[spec]  # type: ignore[index]
        except (KeyError, TypeError):
            raise ValueError(f"unknown {self.kind} {spec!r}; valid: {sorted(self._classes)}") from None

    def resolve_all(self, specs: Iterable[str | type[T]]) -> list[type[T]]:
        """Resolve several names (order kept, duplicates rejected)."""
        out = [self.resolve(s) for s in specs]
        names = [c.name for c in out]  # type: ignore[attr-defined]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"{self.kind}(s) {dup} named twice")
        return out

    def __contains__(self, name: Any) -> bool:
        return name in self._classes

    def __iter__(self):
        return iter(self._classes)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {sorted(self._classes)})"


#: Agent types (subclasses of :class:`syntwin.agents.people.Person`).
AGENT_TYPES: Registry = Registry("agent type")
#: Virtual sensors (subclasses of :class:`syntwin.agents.sensors.Sensor`).
SENSORS: Registry = Registry("sensor")

__all__ = ["Registry", "AGENT_TYPES", "SENSORS"]
