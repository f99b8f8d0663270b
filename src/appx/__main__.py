"""Entry point for ``python -m appx`` and the ``appx`` console script."""

import sys


def main() -> None:
    """Run the command line."""
    from appx.cli import run

    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
