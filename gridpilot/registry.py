"""The one plugin registry, shared by every plugin kind (strategies, forecasts, devices...).

A kind has a name (``"strategy"``), an entry-point group (``gridpilot.strategies``) through which
third-party packages add types, and built-ins named as lazy ``"module:attr"`` targets, so a
policy that uses one type never imports the code of the others (HTTP clients, solvers).

Every loaded object passes the kind's ``check`` (a callable that returns it typed, or raises
``TypeError`` saying what is missing). A plugin that fails to import or does not fit is recorded
under its name, reported when a policy asks for it, and hides no other plugin. A plugin cannot
take a built-in's name. Every type has a pydantic settings model (``settings_model``).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Generic, TypeVar, cast

from pydantic import BaseModel

from gridpilot.errors import PluginError

__all__ = ["Contract", "Registry", "require_methods", "settings_model_of"]

T = TypeVar("T")


def settings_model_of(obj: object, attr: str) -> type[BaseModel]:
    """The pydantic settings model a plugin holds under ``attr``; ``TypeError`` naming the
    attribute when it has none (a check's answer for a plugin that does not fit)."""
    model = getattr(obj, attr, None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"it has no {attr!r} pydantic model class")
    return model


def require_methods(obj: object, *names: str) -> None:
    """``TypeError`` naming the first of ``names`` that ``obj`` cannot call."""
    for name in names:
        if not callable(getattr(obj, name, None)):
            raise TypeError(f"it has no {name}() method")


@dataclass(frozen=True, slots=True)
class Contract:
    """What every plugin of a kind must have, checked in this order when it is loaded.

    Attributes:
        settings_attr: the attribute holding its pydantic settings model.
        methods: the methods it must have.
        called_with: the arguments it is built with, when it must be callable (a class, a
            factory); ``None`` when it need not be.
        classes_only: it must be a class.
    """

    settings_attr: str
    methods: tuple[str, ...] = ()
    called_with: str | None = None
    classes_only: bool = False

    def check(self, obj: object) -> object:
        """``obj`` itself, or ``TypeError`` saying what it lacks."""
        if self.classes_only and not isinstance(obj, type):
            raise TypeError(f"{obj!r} is not a class")
        settings_model_of(obj, self.settings_attr)
        if self.called_with is not None and not callable(obj):
            raise TypeError(f"it cannot be called with ({self.called_with})")
        require_methods(obj, *self.methods)
        return obj

    def settings(self, obj: object) -> type[BaseModel]:
        return settings_model_of(obj, self.settings_attr)


class Registry(Generic[T]):
    """Types of one plugin kind by name: the built-ins, then the entry-point group's plugins.

    Args:
        kind: what one plugin is, in messages (``"strategy"``, ``"device"``).
        group: the entry-point group third parties register under.
        builtins: type name -> ``"module:attr"`` (or ``"module"`` for a module itself).
        contract: what a plugin must have (its settings model, its methods); or, for a kind that
            needs more, ``check`` (returns the loaded object typed as ``T``, raises ``TypeError``
            if it does not fit) and ``settings`` (the settings model of a checked object).
        error: the kind's error class, raised by :meth:`get` for an unknown or broken type.
    """

    def __init__(
        self,
        kind: str,
        group: str,
        builtins: Mapping[str, str],
        *,
        contract: Contract | None = None,
        check: Callable[[object], T] | None = None,
        settings: Callable[[T], type[BaseModel]] | None = None,
        error: type[PluginError],
    ) -> None:
        if contract is not None:
            # The contract checked what T promises; the registry only hands out checked objects.
            check = cast(Callable[[object], T], contract.check)
            settings = contract.settings
        if check is None or settings is None:
            raise TypeError("a Registry needs a contract, or both check and settings")
        self.kind = kind
        self.group = group
        self._builtins = dict(builtins)
        self._check = check
        self._settings = settings
        self._error = error
        self._extra: dict[str, str | object] = {}
        self._loaded: dict[str, T] = {}
        self._problems: dict[str, str] = {}
        self._plugins: dict[str, EntryPoint] | None = None

    # -- the test and integration hook -------------------------------------------------------

    def register(self, name: str, target: str | object) -> None:
        """Add (or replace) type ``name``: a ``"module:attr"`` target or the object itself."""
        self._extra[name] = target
        self._loaded.pop(name, None)
        self._problems.pop(name, None)

    def reset(self) -> None:
        """Forget registered types, loaded objects and the entry points read (tests install
        plugins into the running interpreter and need the group read again)."""
        self._extra.clear()
        self._loaded.clear()
        self._problems.clear()
        self._plugins = None

    # -- lookup --------------------------------------------------------------------------------

    def _entry_points(self) -> dict[str, EntryPoint]:
        if self._plugins is None:
            plugins: dict[str, EntryPoint] = {}
            for ep in entry_points(group=self.group):
                if ep.name in self._builtins:
                    self._problems[ep.name] = (
                        f"plugin {ep.value!r} uses the built-in name {ep.name!r}; "
                        "pick another name"
                    )
                else:
                    plugins[ep.name] = ep
            self._plugins = plugins
        return self._plugins

    def _target(self, name: str) -> tuple[str, Callable[[], object]] | None:
        """Where type ``name`` comes from (for messages) and how to load it."""
        if name in self._extra:
            target = self._extra[name]
            if isinstance(target, str):
                return target, lambda: _import(target)
            return repr(target), lambda: target
        if name in self._builtins:
            spec = self._builtins[name]
            return spec, lambda: _import(spec)
        ep = self._entry_points().get(name)
        if ep is None:
            return None
        return ep.value, ep.load

    def _load(self, name: str) -> T | None:
        if name in self._loaded:
            return self._loaded[name]
        if name in self._problems and name not in self._extra and name not in self._builtins:
            return None  # a broken plugin is not loaded again (a clash leaves the built-in)
        found = self._target(name)
        if found is None:
            return None
        where, load = found
        try:
            obj = self._check(load())
        except Exception as exc:  # a broken plugin is named, whatever it raised
            self._problems[name] = (
                f"{self.kind} plugin {name!r} ({where}) failed to load: "
                f"{type(exc).__name__}: {exc}"
            )
            return None
        self._loaded[name] = obj
        return obj

    def _candidates(self) -> list[str]:
        return sorted({*self._builtins, *self._extra, *self._entry_points()})

    def names(self) -> list[str]:
        """The types a policy may name, sorted; plugins are loaded and checked to tell."""
        return [n for n in self._candidates() if n in self._builtins or self._load(n) is not None]

    def problems(self) -> dict[str, str]:
        """Plugins that could not be used, by name, with the reason."""
        for name in self._candidates():
            if name not in self._builtins:
                self._load(name)
        return dict(self._problems)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._candidates()

    def get(self, name: str) -> T:
        """The object registered as ``name``; the kind's error, naming the valid types (and the
        closest one) when there is none, or why it failed to load."""
        obj = self._load(name)
        if obj is not None:
            return obj
        valid = tuple(self.names())
        if name in self._problems:
            raise self._error(self._problems[name], valid=valid)
        close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
        raise self._error(
            f"unknown {self.kind} type {name!r} (valid: {', '.join(valid) or 'none'})",
            valid=valid,
            hint=f"did you mean {close[0]!r}?" if close else "",
        )

    def settings_model(self, name: str) -> type[BaseModel]:
        """The pydantic settings model of type ``name`` (raises like :meth:`get`)."""
        return self._settings(self.get(name))


def _import(target: str) -> object:
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr) if attr else module
