"""Entry point for ``python -m appx`` and the ``appx`` console script."""

import os
import sys


def main() -> None:
    """Run the command line, with Ctrl-C and SIGTERM unwinding as KeyboardInterrupt.

    A cached `appx run` execs its app first, before the CLI is even imported.
    """
    from appx.runfast import exec_if_cached

    exec_if_cached(sys.argv[1:], os.environ)

    from appx.cli import run
    from appx.signals import install_handlers

    install_handlers()  # deferred() and committed() rely on appx's own handlers
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
