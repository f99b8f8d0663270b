"""Entry point for ``python -m appx`` and the ``appx`` console script."""

import os
import sys
from typing import NoReturn


def main() -> None:
    """Run the command line, with Ctrl-C and SIGTERM unwinding as KeyboardInterrupt.

    Two fast paths come first, before the CLI (typer) is even imported: a cached
    `appx run` execs its app; the plain forms of `--version`, `list`, `environment` and
    `uninstall` run through cli_lean. Everything else goes to the full CLI.
    """
    argv = sys.argv[1:]
    if "run" in argv:  # only a `run` can be a cached run: nothing else pays for the check
        from appx.runfast import exec_if_cached

        exec_if_cached(argv, os.environ)

    from appx.signals import install_handlers

    install_handlers()  # deferred() and committed() rely on appx's own handlers
    from appx.cli_lean import run_plain

    code = run_plain(argv)
    if code is not None:
        _leave(code)
    from appx.cli import run

    sys.exit(run(argv))


def _leave(code: int) -> NoReturn:
    """End a lean command without the interpreter's teardown (a tenth of what `list` costs).

    Nothing else is pending when one returns: its files are closed, its locks released,
    its background work started; what it printed is flushed here.
    """
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # a closed pipe: Python's own exit reports it as it always does
        sys.exit(code)
    os._exit(code)


if __name__ == "__main__":
    main()
