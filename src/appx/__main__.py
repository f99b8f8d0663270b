"""Entry point for ``python -m appx`` and the ``appx`` console script."""

import gc
import os
import sys


def main() -> None:
    """Run the command line, with Ctrl-C and SIGTERM unwinding as KeyboardInterrupt.

    Two fast paths come first, before the CLI (typer) is even imported: a cached
    `appx run` execs its app; the plain forms of `--version`, `list`, `environment` and
    `uninstall` run through cli_lean. Everything else goes to the full CLI.
    """
    argv = sys.argv[1:]
    if "APPX_FAULT_AT" in os.environ or "APPX_FAULT_TRACE" in os.environ:  # the crash tests
        from appx.faultwatch import watch_mutations

        watch_mutations()
    if "run" in argv:  # only a `run` can be a cached run: nothing else pays for the check
        from appx.runfast import exec_if_cached

        exec_if_cached(argv, os.environ)

    from appx.signals import install_handlers

    install_handlers()  # deferred() and committed() rely on appx's own handlers
    from appx.cli_lean import run_plain

    code = run_plain(argv)
    if code is not None:
        # Its objects live until the exit: spare the exit's full garbage collection, which
        # would find nothing to free (a tenth of what `list` costs).
        gc.freeze()
        sys.exit(code)
    from appx.cli import run

    sys.exit(run(argv))


if __name__ == "__main__":
    main()
