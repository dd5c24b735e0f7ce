"""Plugin discovery: registration on a fresh manager, entry points of an installed
distribution, broken plugins, strict mode, duplicates, unknown names, laziness."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import perturbopt
from perturbopt import Registry


class ConstantSolver:
    sense = "max"

    def __init__(self, value: float = 1.0) -> None:
        self.value = value

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        return np.full(theta.shape, self.value)


class GoodPlugin:
    @perturbopt.hookimpl
    def register_solvers(self, register):  # type: ignore[no-untyped-def]
        register("test.constant", ConstantSolver, description="always the same")


def _fake_distribution(
    root: Path, dist: str, module: str, source: str, entry_name: str | None = None
) -> None:
    """Write an installed distribution (module + dist-info with an entry point) under root."""
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist.replace('-', '_')}-1.0.dist-info"  # as pip names it
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[perturbopt]\n{entry_name or module} = {module}\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("PERTURBOPT_STRICT_PLUGINS", raising=False)
    monkeypatch.delenv("PERTURBOPT_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("fakeplug")]:
        del sys.modules[name]


GOOD_SOURCE = """
    import numpy as np
    import perturbopt

    class Half:
        sense = "max"
        def solve(self, theta, *, hint=None):
            return np.full(theta.shape, 0.5)

    @perturbopt.hookimpl
    def register_solvers(register):
        register("fake.half", Half, description="one half everywhere")
"""


def test_plugin_object_on_a_fresh_registry() -> None:
    registry = Registry(autoload=False)
    registry.register_plugin(GoodPlugin(), name="good")
    solver = registry.get_solver("test.constant", value=3.0)
    np.testing.assert_array_equal(solver.solve(np.zeros(2)), [3.0, 3.0])
    entry = {e.name: e for e in registry.list_solvers()}["test.constant"]
    assert (entry.plugin, entry.description) == ("good", "always the same")
    assert {"argmax", "topk", "ranking", "sign"} <= {e.name for e in registry.list_solvers()}
    po = perturbopt.perturbed("test.constant", registry=registry, num_samples=3, seed=0)
    np.testing.assert_array_equal(po(np.zeros(2)), [1.0, 1.0])


def test_builtins_register_through_the_hook() -> None:
    entries = {e.name: e for e in Registry(autoload=False).list_solvers()}
    assert entries["argmax"].plugin == "builtins"
    assert entries["argmax"].distribution == "perturbopt"


def test_installed_distribution_is_discovered_through_its_entry_point(site: Path) -> None:
    _fake_distribution(site, "fakeplug-good", "fakeplug_good", GOOD_SOURCE)
    registry = Registry()
    entry = {e.name: e for e in registry.list_solvers()}["fake.half"]
    assert (entry.plugin, entry.distribution) == ("fakeplug_good", "fakeplug-good")
    np.testing.assert_array_equal(registry.get_solver("fake.half").solve(np.zeros(3)), 0.5)


def test_broken_plugin_warns_and_the_others_load(site: Path) -> None:
    _fake_distribution(site, "fakeplug-good", "fakeplug_good", GOOD_SOURCE)
    _fake_distribution(
        site, "fakeplug-broken", "fakeplug_broken", "raise ImportError('libsolver.so not found')\n"
    )
    registry = Registry()
    with pytest.warns(
        RuntimeWarning,
        match=r"'fakeplug_broken' \(distribution "
        r"'fakeplug-broken'\) failed to import.*libsolver",
    ):
        names = {e.name for e in registry.list_solvers()}
    assert "fake.half" in names and "argmax" in names
    assert "fakeplug_broken" in registry.failed_plugins
    with pytest.raises(perturbopt.UnknownNameError, match="failed to load: fakeplug_broken"):
        registry.get_solver("fake.missing")


def test_plugin_failing_inside_its_hook_warns(site: Path) -> None:
    _fake_distribution(
        site,
        "fakeplug-hook",
        "fakeplug_hook",
        """
        import perturbopt

        @perturbopt.hookimpl
        def register_solvers(register):
            raise RuntimeError("no licence")
    """,
    )
    with pytest.warns(RuntimeWarning, match="'fakeplug_hook'.*failed in register_solvers"):
        assert "argmax" in {e.name for e in Registry().list_solvers()}


def test_strict_mode_raises(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_distribution(site, "fakeplug-broken", "fakeplug_broken", "import no_such_module\n")
    monkeypatch.setenv("PERTURBOPT_STRICT_PLUGINS", "1")
    with pytest.raises(perturbopt.PluginError, match="fakeplug_broken") as caught:
        Registry().list_solvers()
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)


def test_autoload_can_be_disabled(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_distribution(site, "fakeplug-good", "fakeplug_good", GOOD_SOURCE)
    monkeypatch.setenv("PERTURBOPT_DISABLE_PLUGIN_AUTOLOAD", "1")
    names = {e.name for e in Registry().list_solvers()}
    assert "fake.half" not in names and "argmax" in names


def test_duplicate_names_fail_for_that_name_only_naming_both(site: Path) -> None:
    _fake_distribution(site, "fakeplug-good", "fakeplug_good", GOOD_SOURCE)
    _fake_distribution(site, "fakeplug-copy", "fakeplug_copy", GOOD_SOURCE)
    registry = Registry()
    with pytest.warns(RuntimeWarning, match="'fake.half' is registered twice"):
        names = {e.name for e in registry.list_solvers()}
    assert "argmax" in names and "fake.half" not in names
    assert registry.get_solver("argmax").solve(np.array([0.0, 1.0])).tolist() == [0, 1]
    with pytest.raises(perturbopt.DuplicateNameError) as caught:
        registry.get_solver("fake.half")
    message = str(caught.value)
    assert "'fake.half'" in message
    assert "fakeplug-good" in message and "fakeplug-copy" in message


def test_duplicate_of_a_builtin_raises() -> None:
    class Clash:
        @perturbopt.hookimpl
        def register_solvers(self, register):  # type: ignore[no-untyped-def]
            register("argmax", ConstantSolver)

    registry = Registry(autoload=False)
    registry.register_plugin(Clash(), name="clash")
    with (
        pytest.warns(RuntimeWarning, match="registered twice"),
        pytest.raises(perturbopt.DuplicateNameError, match="'builtins'.*'clash'"),
    ):
        registry.get_solver("argmax")
    assert registry.get_solver("topk", k=1).solve(np.array([0.0, 1.0])).tolist() == [0, 1]


def test_unknown_name_suggests_close_matches() -> None:
    registry = Registry(autoload=False)
    with pytest.raises(perturbopt.UnknownNameError, match="did you mean 'topk'"):
        registry.get_solver("topkk")
    with pytest.raises(perturbopt.UnknownNameError, match="unknown noise 'gausian'.*'gaussian'"):
        registry.get_noise("gausian")


def test_plugins_register_noises_too() -> None:
    class Laplace:
        name, symmetric = "laplace", True

        def sample(self, rng, shape, dtype=np.float64):  # type: ignore[no-untyped-def]
            return rng.laplace(size=shape).astype(dtype)

        def score(self, z):  # type: ignore[no-untyped-def]
            return np.sign(z)

        def log_mgf(self, epsilon):  # type: ignore[no-untyped-def]
            return -np.log1p(-(epsilon**2))

    class NoisePlugin:
        @perturbopt.hookimpl
        def register_noises(self, register):  # type: ignore[no-untyped-def]
            register("laplace", Laplace)

    registry = Registry(autoload=False)
    registry.register_plugin(NoisePlugin(), name="noises")
    po = perturbopt.perturbed("sign", noise="laplace", num_samples=20000, seed=0, registry=registry)
    # P(Z > -theta) for a standard Laplace: 1 - exp(-theta) / 2 at theta = 0.5.
    p = 1 - np.exp(-0.5) / 2
    assert abs(po(np.array([0.5]))[0] - (2 * p - 1)) < 5 * 2 * np.sqrt(p * (1 - p) / 20000)


def test_plugins_load_lazily_not_at_import() -> None:
    code = (
        "import perturbopt, sys; "
        "print(perturbopt.Registry.default()._plugins_loaded, "
        "any(m.startswith('perturbopt_') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_default_registry_loads_once() -> None:
    registry = perturbopt.Registry.default()
    first = registry.list_solvers()
    assert registry.list_solvers() == first
    assert registry.plugin_manager is perturbopt.Registry.default().plugin_manager


def test_factories_registered_by_import_path_load_on_first_use(site: Path) -> None:
    (site / "fakeplug_heavy.py").write_text(textwrap.dedent(GOOD_SOURCE))
    _fake_distribution(
        site,
        "fakeplug-lazy",
        "fakeplug_lazy",
        """
        import perturbopt

        @perturbopt.hookimpl
        def register_solvers(register):
            register("fake.lazy", "fakeplug_heavy:Half", description="imported when used")
            register("fake.gone", "fakeplug_missing:Half")
    """,
    )
    registry = Registry()
    names = {e.name for e in registry.list_solvers()}
    assert {"fake.lazy", "fake.gone"} <= names
    assert "fakeplug_heavy" not in sys.modules
    np.testing.assert_array_equal(registry.get_solver("fake.lazy").solve(np.zeros(2)), 0.5)
    assert "fakeplug_heavy" in sys.modules
    with pytest.raises(
        perturbopt.PluginError,
        match="'fake.gone' is registered by plugin 'fakeplug_lazy'.*"
        "No module named 'fakeplug_missing'",
    ):
        registry.get_solver("fake.gone")


def test_register_refuses_what_is_neither_callable_nor_a_path() -> None:
    class Bad:
        @perturbopt.hookimpl
        def register_solvers(self, register):  # type: ignore[no-untyped-def]
            register("bad", 42)

    registry = Registry(autoload=False, strict=True)
    registry.register_plugin(Bad(), name="bad")
    with pytest.raises(perturbopt.PluginError, match="must be callable or an import path"):
        registry.list_solvers()


def test_strict_mode_raises_on_every_lookup_while_a_plugin_is_broken(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A retried notebook cell, or a second test, must fail again: it used to raise once
    # and then let every lookup pass.
    _fake_distribution(site, "fakeplug-good", "fakeplug_good", GOOD_SOURCE)
    _fake_distribution(site, "fakeplug-broken", "fakeplug_broken", "import no_such_module\n")
    monkeypatch.setenv("PERTURBOPT_STRICT_PLUGINS", "1")
    registry = Registry()
    lookups = (
        lambda: registry.get_solver("argmax"),
        lambda: registry.get_solver("fake.half"),
        registry.list_solvers,
        lambda: registry.get_noise("gaussian"),
        lambda: registry.get_solver("argmax"),
    )
    for lookup in lookups:
        with pytest.raises(perturbopt.PluginError, match="fakeplug_broken") as caught:
            lookup()
        message = str(caught.value)
        assert "still work" not in message
        assert "every lookup raises this error while the plugin is broken" in message
        assert isinstance(caught.value.__cause__, ModuleNotFoundError)


def test_without_strict_mode_the_healthy_plugins_keep_working(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_distribution(site, "fakeplug-good", "fakeplug_good", GOOD_SOURCE)
    _fake_distribution(site, "fakeplug-broken", "fakeplug_broken", "import no_such_module\n")
    monkeypatch.setenv("PERTURBOPT_STRICT_PLUGINS", "off")
    registry = Registry()
    with pytest.warns(RuntimeWarning, match="'fakeplug_broken'.*the other plugins still work"):
        registry.list_solvers()
    for _ in range(2):
        assert registry.get_solver("argmax").solve(np.array([0.0, 1.0])).tolist() == [0, 1]
        assert registry.get_solver("fake.half").solve(np.zeros(2)).tolist() == [0.5, 0.5]


@pytest.mark.parametrize("value", ["off", "OFF", "0", "false", "no", "disable", "", " No "])
def test_strict_plugins_off_means_not_strict(
    value: str, site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_distribution(site, "fakeplug-broken", "fakeplug_broken", "import no_such_module\n")
    monkeypatch.setenv("PERTURBOPT_STRICT_PLUGINS", value)
    with pytest.warns(RuntimeWarning, match="fakeplug_broken"):
        assert "argmax" in {e.name for e in Registry().list_solvers()}


@pytest.mark.parametrize("value", ["1", "true", "Yes", "on"])
def test_strict_plugins_on_means_strict(
    value: str, site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_distribution(site, "fakeplug-broken", "fakeplug_broken", "import no_such_module\n")
    monkeypatch.setenv("PERTURBOPT_STRICT_PLUGINS", value)
    with pytest.raises(perturbopt.PluginError, match="fakeplug_broken"):
        Registry().list_solvers()


@pytest.mark.parametrize(
    "variable", ["PERTURBOPT_STRICT_PLUGINS", "PERTURBOPT_DISABLE_PLUGIN_AUTOLOAD"]
)
def test_a_switch_that_is_neither_on_nor_off_is_an_error_naming_it(
    variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, "maybe")
    with pytest.raises(ValueError, match=rf"{variable}='maybe' is neither on nor off.*1, true"):
        Registry()


def test_a_name_claimed_twice_fails_every_lookup_in_strict_mode() -> None:
    class One:
        @perturbopt.hookimpl
        def register_solvers(self, register):  # type: ignore[no-untyped-def]
            register("twice", lambda: None)

    class Two(One):
        pass

    registry = Registry(autoload=False, strict=True)
    registry.register_plugin(One(), name="one")
    registry.register_plugin(Two(), name="two")
    for _ in range(2):
        with pytest.raises(perturbopt.PluginError, match="'twice' is registered twice") as caught:
            registry.get_solver("argmax")
        assert "unaffected" not in str(caught.value)


def test_a_plugin_that_exits_on_import_is_only_a_warning(site: Path) -> None:
    _fake_distribution(site, "fakeplug-exit", "fakeplug_exit", "import sys\nsys.exit(1)\n")
    registry = Registry()
    with pytest.warns(RuntimeWarning, match="'fakeplug_exit'.*failed to import.*SystemExit"):
        assert "argmax" in {e.name for e in registry.list_solvers()}


def test_perturbopt_solvers_survives_a_plugin_that_exits(site: Path) -> None:
    _fake_distribution(site, "fakeplug-exit", "fakeplug_exit", "import sys\nsys.exit(1)\n")
    env = {**__import__("os").environ, "PYTHONPATH": str(site)}
    done = subprocess.run(
        [sys.executable, "-m", "perturbopt.cli", "solvers"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and "argmax" in done.stdout
    assert "fakeplug_exit" in done.stderr


def test_register_solvers_is_all_or_nothing(site: Path) -> None:
    _fake_distribution(
        site,
        "fakeplug-half",
        "fakeplug_half",
        """
        import perturbopt

        @perturbopt.hookimpl
        def register_solvers(register):
            register("half.first", lambda: None)
            raise RuntimeError("the second solver needs a licence")
    """,
    )
    registry = Registry()
    with pytest.warns(RuntimeWarning, match="'fakeplug_half'.*failed in register_solvers"):
        names = {e.name for e in registry.list_solvers()}
    assert "half.first" not in names and "argmax" in names


def test_a_misspelled_hook_is_reported_by_pluggy_validation(site: Path) -> None:
    _fake_distribution(
        site,
        "fakeplug-typo",
        "fakeplug_typo",
        """
        import perturbopt

        @perturbopt.hookimpl
        def register_solver(register):
            register("typo.sign", lambda: None)
    """,
    )
    with pytest.warns(
        RuntimeWarning,
        match="'fakeplug_typo'.*unknown hook 'register_solver'.*did you mean 'register_solvers'",
    ):
        Registry().list_solvers()


def test_a_misspelled_hook_is_an_error_in_strict_mode() -> None:
    class Typo:
        @perturbopt.hookimpl
        def register_noise(self, register):  # type: ignore[no-untyped-def]
            pass

    registry = Registry(autoload=False, strict=True)
    registry.register_plugin(Typo(), name="typo")
    for _ in range(2):  # on every lookup, not once
        with pytest.raises(perturbopt.PluginError, match="unknown hook 'register_noise'"):
            registry.list_noises()
