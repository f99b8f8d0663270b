"""Keep pip where appx puts it: no option, config file or variable may choose where it installs.

Two doors lead there. ``--pip-args`` is checked up front (:func:`check_pip_args`)
with optparse's own rules: an abbreviation (``--targ``), an attached value
(``--target=X``, ``-tX``) and a cluster of short options (``-qt X``) are all seen.
pip's config files are never read by a pip child (``PIP_CONFIG_FILE`` is
``os.devnull``); their settings reach it as ``PIP_*`` variables instead, less the
ones that choose where pip installs (:func:`pip_environment`). An empty variable
cannot do that job: pip ignores empty values, so ``PIP_TARGET=`` leaves a config
file's ``target`` in force (checked with pip 23.0.1 and 26).
"""

from __future__ import annotations

import configparser
import importlib
import locale
import os
import sys
from collections.abc import Mapping, Sequence

from appx import proc
from appx.credentials import redact
from appx.errors import InstallerError, SpecError

# The long options of `pip install` (pip 23.0 to 26) that take a value ...
_VALUE_WORDS = """
    abi all-releases build-constraint cache-dir cert client-cert config-settings constraint
    default-timeout editable exists-action extra-index-url find-links global-option group
    implementation index-url install-option keyring-provider local-log log log-file no-binary
    only-binary only-final platform prefix progress-bar proxy pypi-url python python-version
    refresh-package report requirement requirements-from-script resume-retries retries root
    root-user-action source source-dir source-directory src target timeout trusted-host
    upgrade-strategy uploaded-prior-to use-deprecated use-feature
"""
# ... and those that do not.
_FLAG_WORDS = """
    break-system-packages check-build-dependencies compile debug disable-pip-version-check
    dry-run force-reinstall help ignore-installed ignore-requires-python isolated
    no-build-isolation no-cache-dir no-clean no-color no-compile no-dependencies no-deps
    no-index no-input no-proxy-env no-python-version-warning no-require-hashes no-use-pep517
    no-user no-warn-conflicts no-warn-script-location only-dependencies only-deps pre
    prefer-binary quiet require-hashes require-venv require-virtualenv upgrade use-pep517 user
    verbose version
"""
_VALUE_OPTIONS = frozenset(_VALUE_WORDS.split())
_FLAG_OPTIONS = frozenset(_FLAG_WORDS.split())
_LONG_OPTIONS = _VALUE_OPTIONS | _FLAG_OPTIONS
_SHORT_VALUE_OPTIONS = frozenset("Ccefirt")
_SHORT_OPTIONS = {"t": "target", "e": "editable"}  # the short spellings of refused options

_WHERE = "appx chooses where an app is installed"
_LOG = "appx keeps pip's output in its own log (--verbose keeps it)"
_RUN = "appx runs pip to install the app, not to rehearse or report"
# Options that choose where (or whether) pip installs, every alias: why each is refused.
REFUSED_OPTIONS: Mapping[str, str] = {
    "target": _WHERE,
    "prefix": _WHERE,
    "root": _WHERE,
    "user": _WHERE,
    "src": _WHERE,
    "source": _WHERE,
    "source-dir": _WHERE,
    "source-directory": _WHERE,
    "python": "appx runs pip with the app's own Python; choose it with appx's --python",
    "log": _LOG,
    "log-file": _LOG,
    "local-log": _LOG,
    "report": _RUN,
    "dry-run": _RUN,
    "editable": "use appx's own --editable for a project directory",
}
# In a config file or variable, "no-user = true" turns --user ON (pip stores the value
# of a store_false option as given), so it goes too.
LOCATION_SETTINGS = frozenset(REFUSED_OPTIONS) | {"no-user"}
# Aliases of kept settings, so a variable and a config key for one option never both reach pip.
_ALIASES = {
    "default-timeout": "timeout",
    "pypi-url": "index-url",
    "no-dependencies": "no-deps",
    "only-dependencies": "only-deps",
    "require-venv": "require-virtualenv",
}


def check_pip_args(args: Sequence[str]) -> None:
    """Refuse --pip-args that would choose where pip installs (SpecError, exit 3)."""
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg == "--":  # the rest are requirements
            return
        if arg.startswith("--"):
            name, equals, _ = arg[2:].partition("=")
            option, candidates = resolve_option(name.lower())
            refused = [c for c in candidates if c in REFUSED_OPTIONS]
            if option in REFUSED_OPTIONS or (option is None and refused):
                _refuse(arg, option or refused[0], abbreviated=option != name.lower())
            if option in _VALUE_OPTIONS and not equals:
                index += 1  # its value, whatever it looks like
        elif arg.startswith("-") and arg != "-":
            for position, char in enumerate(arg[1:], start=2):
                if char in _SHORT_OPTIONS:
                    _refuse(arg, _SHORT_OPTIONS[char], abbreviated=True)
                if char in _SHORT_VALUE_OPTIONS:  # the rest of the cluster is its value
                    if position == len(arg):
                        index += 1  # or, when none is left, the next argument
                    break


def resolve_option(name: str) -> tuple[str | None, list[str]]:
    """optparse's rule: the exact option, or the only one ``name`` abbreviates."""
    if name in _LONG_OPTIONS:
        return name, [name]
    candidates = sorted(option for option in _LONG_OPTIONS if option.startswith(name))
    return (candidates[0] if len(candidates) == 1 else None), candidates


def takes_value(option: str) -> bool:
    """Whether pip's long option ``option`` (full name, no dashes) takes a value."""
    return option in _VALUE_OPTIONS


def _refuse(arg: str, option: str, *, abbreviated: bool) -> None:
    shown = f"{redact(arg)!r} (pip's --{option})" if abbreviated else repr(redact(arg))
    raise SpecError(
        f"--pip-args may not contain {shown}: {REFUSED_OPTIONS[option]}",
        "remove it from --pip-args",
    )


def pip_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a pip child: pip's settings, less where it installs.

    pip reads no config file; the kept settings of the user's config files become
    ``PIP_*`` variables, where a variable the user set for the same option wins,
    as it would in pip. Index, certificate and proxy settings are kept.
    """
    base = os.environ if environ is None else environ
    env = {
        key: value
        for key, value in proc.clean_env(base).items()
        if not (key.startswith("PIP_") and _setting(key[4:]) in LOCATION_SETTINGS)
    }
    already = {_setting(key[4:]) for key, value in env.items() if key.startswith("PIP_") and value}
    for key, value in config_settings(base).items():
        if key not in already:
            env["PIP_" + key.upper().replace("-", "_")] = value
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


def config_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """The settings pip's config files give `pip install`, less the location settings."""
    files = _config_files(environ)
    sections: dict[str, dict[str, str]] = {"global": {}, "install": {}}
    for path in files:
        parser = configparser.RawConfigParser()
        parser.optionxform = _setting  # type: ignore[assignment, method-assign]
        encoding = "utf-8" if sys.flags.utf8_mode else locale.getpreferredencoding(False)
        try:
            parser.read(path, encoding=encoding)
        except (configparser.Error, UnicodeDecodeError) as exc:
            raise InstallerError(
                f"pip's configuration file cannot be read: {path}",
                f"fix or remove it ({str(exc).splitlines()[0]})",
            ) from None
        for name, values in sections.items():
            if parser.has_section(name):
                values.update(parser.items(name))
    # As in pip: [install] overrides [global], and an empty value unsets a key.
    merged = {**sections["global"], **sections["install"]}
    return {key: value for key, value in merged.items() if value and key not in LOCATION_SETTINGS}


def _config_files(environ: Mapping[str, str]) -> list[str]:
    """The config files pip reads, lowest priority first, as pip itself lists them.

    The "site" file of appx's own environment is left out: a pip child runs in the
    app's fresh venv, which has none.
    """
    env_file = environ.get("PIP_CONFIG_FILE")
    if env_file == os.devnull:  # pip's own switch: no config file at all
        return []
    try:
        module = importlib.import_module("pip._internal.configuration")
        listed = list(module.Configuration(isolated=False).iter_config_files())
    except Exception as exc:  # noqa: BLE001 -- pip's internals may move: say so plainly
        raise InstallerError(
            "cannot find pip's configuration files", f"this pip is not supported: {exc!r}"
        ) from None
    files = [path for kind, paths in listed if str(kind) != "site" for path in paths]
    return [path for path in files if os.path.isfile(path)]


def _setting(name: str) -> str:
    """A config key or variable name as pip compares them: ``INDEX_URL`` -> ``index-url``."""
    key = name.lower().replace("_", "-").removeprefix("--")
    return _ALIASES.get(key, key)
