"""The plugin registry: a pluggy manager fed by the entry-point group ``perturbopt``.

Plugins load lazily, once, on the first lookup. The built-in solvers and noises
register through the same hooks as third-party plugins.

Faults stay with their plugin. A plugin that fails to import (even with ``sys.exit``),
implements a hook that does not exist (pluggy's ``check_pending``), or raises in its
hook is reported by name (a warning; an error in strict mode) and registers nothing: a
hook's registrations count only if the whole hook ran. Two plugins claiming one name
make that name fail, naming both; every other name keeps working.

Environment variables (``1``, ``true``, ``yes`` or ``on`` turn one on; ``0``, ``false``,
``no``, ``off``, ``disable`` or an empty value leave it off; anything else is a
``ValueError`` naming the variable):
    PERTURBOPT_STRICT_PLUGINS=1: every lookup raises [`PluginError`][perturbopt.PluginError] for the
        plugins that failed, instead of warning, for as long as one is broken.
    PERTURBOPT_DISABLE_PLUGIN_AUTOLOAD=1: installed plugins are not loaded; only the
        built-ins and plugins registered with [`Registry.register_plugin`][perturbopt.Registry.register_plugin]
        are.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import importlib.metadata
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from ._errors import DuplicateNameError, PluginError, UnknownNameError
from ._factory_options import check_factory_options
from ._forks import ForkSafeLock
from ._hookspecs import ENTRY_POINT_GROUP, PROJECT_NAME, PerturbOptHookSpecs

__all__ = [
    "DISABLE_AUTOLOAD_ENV",
    "STRICT_ENV",
    "RegisteredEntry",
    "Registry",
    "get_noise",
    "get_solver",
    "list_noises",
    "list_solvers",
]

STRICT_ENV = "PERTURBOPT_STRICT_PLUGINS"
DISABLE_AUTOLOAD_ENV = "PERTURBOPT_DISABLE_PLUGIN_AUTOLOAD"

_BUILTIN_DISTRIBUTION = "perturbopt"
_RUNTIME_DISTRIBUTION = "(registered at runtime)"
_HOOKS = {"register_solvers": "solver", "register_noises": "noise"}


@dataclass(frozen=True)
class RegisteredEntry:
    """One registered solver or noise.

    Attributes:
        name: the name users pass to [`get_solver`][perturbopt._registry.get_solver] or ``noise=``.
        target: the factory, or its import path ``"package.module:Class"``, imported on
            first use (so that listing solvers imports no solver library).
        description: one line for ``perturbopt solvers``.
        plugin: the plugin (entry-point name) that registered it.
        distribution: the installed distribution that provides that plugin.
    """

    name: str
    target: Callable[..., Any] | str
    description: str
    plugin: str
    distribution: str

    def build(self, **options: Any) -> Any:
        """A new solver from the factory and ``options``, checked first against the
        factory's signature (a wrong or missing option names the options it takes)."""
        factory = self.factory
        check_factory_options(self.name, factory, options)
        return factory(**options)

    @property
    def factory(self) -> Callable[..., Any]:
        """The factory, imported now if it was registered by import path."""
        if not isinstance(self.target, str):
            return self.target
        try:
            return _import_target(self.target)
        except Exception as error:
            raise PluginError(
                f"{self.name!r} is registered by plugin {self.plugin!r} (distribution "
                f"{self.distribution!r}) as {self.target!r}, which failed to load: "
                f"{type(error).__name__}: {error}. Reinstall {self.distribution!r}."
            ) from error


@functools.cache
def _import_target(path: str) -> Callable[..., Any]:
    module_name, _, attribute = path.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{path} is a {type(target).__name__}, not a callable")
    return target


@dataclass
class _PluginSource:
    plugin: str
    distribution: str


@dataclass
class _Table:
    """The entries of one kind, and the names that two plugins claim."""

    kind: str
    entries: dict[str, RegisteredEntry] = field(default_factory=dict)
    clashes: dict[str, list[RegisteredEntry]] = field(default_factory=dict)

    def add(self, entry: RegisteredEntry) -> None:
        if entry.name in self.clashes:
            self.clashes[entry.name].append(entry)
        elif entry.name in self.entries:
            self.clashes[entry.name] = [self.entries.pop(entry.name), entry]
        else:
            self.entries[entry.name] = entry

    def clash_message(self, name: str, *, strict: bool = False) -> str:
        owners = " and by ".join(
            f"plugin {e.plugin!r} (distribution {e.distribution!r})" for e in self.clashes[name]
        )
        after = (
            f"in strict mode ({STRICT_ENV}=1) every lookup raises this error until then"
            if strict
            else "other names are unaffected"
        )
        return (
            f"{self.kind} name {name!r} is registered twice: by {owners}; uninstall one "
            f"of them ({after})"
        )


@dataclass
class _Catalogue:
    solvers: _Table = field(default_factory=lambda: _Table("solver"))
    noises: _Table = field(default_factory=lambda: _Table("noise"))
    failures: list[PluginError] = field(default_factory=list)
    """Strict mode: the hooks that raised and the names two plugins claim."""


_ON = ("1", "true", "yes", "on")
_OFF = ("", "0", "false", "no", "off", "disable")


def _env_flag(name: str) -> bool:
    """Whether the environment variable ``name`` turns its switch on.

    Raises:
        ValueError: the value is neither on nor off.
    """
    raw = os.environ.get(name, "")
    value = raw.strip().lower()
    if value in _ON:
        return True
    if value in _OFF:
        return False
    raise ValueError(
        f"environment variable {name}={raw!r} is neither on nor off: set it to "
        f"{', '.join(_ON)} to turn it on, or to {', '.join(v for v in _OFF if v)} or an "
        "empty value (or unset it) to leave it off"
    )


class Registry:
    """A set of solver and noise plugins.

    Args:
        autoload: load the plugins installed under the entry-point group
            ``perturbopt`` (default: unless ``PERTURBOPT_DISABLE_PLUGIN_AUTOLOAD`` is set).
        strict: raise on every lookup while a plugin has failed (default:
            ``PERTURBOPT_STRICT_PLUGINS``).
        builtins: register perturbopt's built-in solvers and noises.

    Example:
        >>> import numpy as np, perturbopt
        >>> class MyPlugin:
        ...     @perturbopt.hookimpl
        ...     def register_solvers(self, register):
        ...         register("my.sign", lambda: perturbopt.as_solver(lambda t: (t > 0) * 2.0 - 1))
        >>> registry = perturbopt.Registry(autoload=False)
        >>> registry.register_plugin(MyPlugin(), name="mine")
        >>> registry.get_solver("my.sign").solve(np.array([-1.0, 2.0]))
        array([-1.,  1.])
    """

    def __init__(
        self, *, autoload: bool | None = None, strict: bool | None = None, builtins: bool = True
    ) -> None:
        self._autoload = (not _env_flag(DISABLE_AUTOLOAD_ENV)) if autoload is None else autoload
        self._strict = _env_flag(STRICT_ENV) if strict is None else strict
        self._builtins = builtins
        self._manager = pluggy.PluginManager(PROJECT_NAME)
        self._manager.add_hookspecs(PerturbOptHookSpecs)
        self._sources: dict[str, _PluginSource] = {}
        self._lock = ForkSafeLock(reentrant=True)
        self._plugins_loaded = False
        self._catalogue: _Catalogue | None = None
        self._broken: list[PluginError] = []  # strict mode: failed imports and validations
        self.failed_plugins: dict[str, BaseException] = {}
        """Plugins that failed to import, validate or register, by name, with their error."""

    @classmethod
    def default(cls) -> Registry:
        """The process-wide registry that [get_solver][perturbopt.get_solver] and friends
        use, built on first use."""
        global _default
        if _default is None:
            with _default_lock:
                if _default is None:
                    _default = cls()
        return _default

    # -- plugins -----------------------------------------------------------------

    @property
    def plugin_manager(self) -> pluggy.PluginManager:
        """The underlying pluggy manager (plugins load on first access)."""
        self._ensure_plugins()
        return self._manager

    def register_plugin(
        self, plugin: object, name: str | None = None, distribution: str = _RUNTIME_DISTRIBUTION
    ) -> None:
        """Register a plugin object or module on this registry.

        Args:
            plugin: an object or module with ``@perturbopt.hookimpl`` functions.
            name: the plugin's name (defaults to pluggy's canonical name).
            distribution: shown by [`list_solvers`][perturbopt._registry.list_solvers] as its provider.

        Raises:
            PluginError: the plugin (or its name) is already registered.
        """
        with self._lock:
            self._ensure_plugins()
            try:
                registered = self._manager.register(plugin, name=name)
            except ValueError as error:
                raise PluginError(
                    f"plugin {name or plugin!r} is already registered on this registry: {error}"
                ) from error
            if registered is None:  # pragma: no cover - pluggy returns None when blocked
                raise PluginError(f"plugin {name!r} is blocked on this registry")
            self._sources[registered] = _PluginSource(registered, distribution)
            self._validate(registered)
            self._catalogue = None

    def _ensure_plugins(self) -> None:
        if self._plugins_loaded:
            return
        with self._lock:
            if self._plugins_loaded:
                return
            if self._builtins:
                from . import _builtins

                self._manager.register(_builtins, name="builtins")
                self._sources["builtins"] = _PluginSource("builtins", _BUILTIN_DISTRIBUTION)
            if self._autoload:
                self._load_entry_points()
            self._plugins_loaded = True

    def _load_entry_points(self) -> None:
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            distribution = _distribution_of(entry_point)
            if self._manager.has_plugin(entry_point.name):
                continue
            try:
                plugin = entry_point.load()
                self._manager.register(plugin, name=entry_point.name)
            except (Exception, SystemExit) as error:  # noqa: BLE001 - one bad plugin only
                if self._manager.has_plugin(entry_point.name):  # half-registered: undo
                    self._manager.unregister(name=entry_point.name)
                self._plugin_failed(entry_point.name, distribution, "failed to import", error)
                continue
            self._sources[entry_point.name] = _PluginSource(entry_point.name, distribution)
            self._validate(entry_point.name)

    def _validate(self, plugin_name: str) -> None:
        """pluggy's ``check_pending``, per plugin: a hook implementation whose hook does
        not exist (a misspelling, say) would otherwise never be called."""
        plugin = self._manager.get_plugin(plugin_name)
        for caller in self._manager.get_hookcallers(plugin) or []:
            if caller.has_spec():
                continue
            if any(
                impl.optionalhook
                for impl in caller.get_hookimpls()
                if impl.plugin_name == plugin_name
            ):
                continue
            close = difflib.get_close_matches(caller.name, list(_HOOKS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            source = self._sources[plugin_name]
            self._plugin_failed(
                plugin_name,
                source.distribution,
                f"implements unknown hook {caller.name!r}",
                pluggy.PluginValidationError(plugin, caller.name + hint),
            )

    def _plugin_failed(
        self,
        plugin: str,
        distribution: str,
        what: str,
        error: BaseException,
        failures: list[PluginError] | None = None,
    ) -> None:
        """Warn about a failed plugin, or (strict mode) keep the error for every lookup
        in ``failures`` (by default, the registry's failed imports and validations)."""
        self.failed_plugins[plugin] = error
        head = (
            f"perturbopt plugin {plugin!r} (distribution {distribution!r}) {what}: "
            f"{type(error).__name__}: {error}."
        )
        if self._strict:
            failure = PluginError(
                f"{head} In strict mode ({STRICT_ENV}=1 or strict=True) every lookup "
                f"raises this error while the plugin is broken. Reinstall or uninstall "
                f"{distribution!r}; set {DISABLE_AUTOLOAD_ENV}=1 to load no installed "
                f"plugin, or unset {STRICT_ENV} to be warned instead."
            )
            failure.__cause__ = error
            (self._broken if failures is None else failures).append(failure)
        else:
            message = (
                f"{head} Its solvers are unavailable; the other plugins still work. "
                f"Reinstall or uninstall {distribution!r}; set {DISABLE_AUTOLOAD_ENV}=1 "
                "to load no installed plugin."
            )
            warnings.warn(message, RuntimeWarning, stacklevel=5)

    # -- catalogue ----------------------------------------------------------------

    def _ensure_catalogue(self) -> _Catalogue:
        catalogue = self._catalogue
        if catalogue is None:
            with self._lock:
                self._ensure_plugins()
                if self._catalogue is None:
                    self._catalogue = self._collect()
                catalogue = self._catalogue
        failures = self._broken + catalogue.failures
        if failures:  # strict mode: on every lookup, for as long as a plugin is broken
            error = PluginError("\n".join(str(f) for f in failures))
            raise error from failures[0].__cause__
        return catalogue

    def _collect(self) -> _Catalogue:
        catalogue = _Catalogue()
        tables = {"register_solvers": catalogue.solvers, "register_noises": catalogue.noises}
        for hook_name, table in tables.items():
            for impl in getattr(self._manager.hook, hook_name).get_hookimpls():
                source = self._sources.get(
                    impl.plugin_name, _PluginSource(impl.plugin_name, _RUNTIME_DISTRIBUTION)
                )
                staged: list[RegisteredEntry] = []
                try:
                    impl.function(
                        **(
                            {"register": _stager(staged, table.kind, source)}
                            if impl.argnames
                            else {}
                        )
                    )
                except (Exception, SystemExit) as error:  # noqa: BLE001 - all or nothing
                    self._plugin_failed(
                        source.plugin,
                        source.distribution,
                        f"failed in {hook_name}",
                        error,
                        catalogue.failures,
                    )
                    continue
                for entry in staged:
                    table.add(entry)
            for name in table.clashes:
                message = table.clash_message(name, strict=self._strict)
                if self._strict:
                    catalogue.failures.append(PluginError(message))
                else:
                    warnings.warn(message, RuntimeWarning, stacklevel=4)
        return catalogue

    # -- lookups ------------------------------------------------------------------

    def solver_entry(self, name: str) -> RegisteredEntry:
        """The registration of solver ``name``."""
        return self._lookup(self._ensure_catalogue().solvers, name)

    def get_solver(self, name: str, **options: Any) -> Any:
        """Build solver ``name`` with ``options``."""
        return self.solver_entry(name).build(**options)

    def list_solvers(self) -> list[RegisteredEntry]:
        """Every registered solver, sorted by name (names two plugins claim left out)."""
        return sorted(self._ensure_catalogue().solvers.entries.values(), key=lambda e: e.name)

    def get_noise(self, name: str) -> Any:
        """Build noise ``name``."""
        return self._lookup(self._ensure_catalogue().noises, name).factory()

    def list_noises(self) -> list[RegisteredEntry]:
        """Every registered noise, sorted by name."""
        return sorted(self._ensure_catalogue().noises.entries.values(), key=lambda e: e.name)

    def _lookup(self, table: _Table, name: str) -> RegisteredEntry:
        kind = table.kind
        if not isinstance(name, str):
            raise TypeError(f"a {kind} name must be a string, got {type(name).__name__}")
        entry = table.entries.get(name)
        if entry is not None:
            return entry
        if name in table.clashes:
            raise DuplicateNameError(table.clash_message(name))
        known = list(table.entries)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else "."
        failed = self.failed_plugins
        broken = f" (plugins that failed to load: {', '.join(sorted(failed))})" if failed else ""
        raise UnknownNameError(
            f"unknown {kind} {name!r}{hint} Known {kind}s: {', '.join(sorted(known)) or 'none'}"
            f"{broken}. `perturbopt solvers` lists them with their plugins."
        )


def _stager(staged: list[RegisteredEntry], kind: str, source: _PluginSource) -> Callable[..., None]:
    """The ``register`` function handed to one hook call: entries are staged and only
    added to the catalogue if the whole hook returns."""

    def register(name: str, factory: Callable[..., Any] | str, description: str = "") -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a {kind} name must be a non-empty string, got {name!r}")
        lazy = isinstance(factory, str) and ":" in factory
        if not (lazy or callable(factory)):
            raise TypeError(
                f"the factory of {kind} {name!r} must be callable or an import "
                f"path 'package.module:Class', got {factory!r}"
            )
        if any(entry.name == name for entry in staged):
            raise DuplicateNameError(f"plugin {source.plugin!r} registers {kind} {name!r} twice")
        staged.append(
            RegisteredEntry(name, factory, description, source.plugin, source.distribution)
        )

    return register


def _distribution_of(entry_point: importlib.metadata.EntryPoint) -> str:
    dist = getattr(entry_point, "dist", None)
    return dist.name if dist is not None else "(unknown distribution)"


_default: Registry | None = None
_default_lock = ForkSafeLock()


def get_solver(name: str, **options: Any) -> Any:
    """Build the registered solver ``name`` with ``options``.

    Example:
        >>> import numpy as np, perturbopt
        >>> perturbopt.get_solver("topk", k=2).solve(np.array([3.0, 1.0, 2.0]))
        array([1, 0, 1], dtype=int8)
    """
    return Registry.default().get_solver(name, **options)


def list_solvers() -> list[RegisteredEntry]:
    """Every registered solver with its description, plugin and distribution."""
    return Registry.default().list_solvers()


def get_noise(name: str) -> Any:
    """Build the registered noise ``name`` (``"gaussian"``, ``"gumbel"``, ...)."""
    return Registry.default().get_noise(name)


def list_noises() -> list[RegisteredEntry]:
    """Every registered noise with its plugin and distribution."""
    return Registry.default().list_noises()
