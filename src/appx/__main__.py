"""Entry point for ``python -m appx`` and the ``appx`` console script."""

import signal
import sys
from types import FrameType


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM unwinds like Ctrl-C: the build is discarded and the installer stopped."""
    raise KeyboardInterrupt


def main() -> None:
    """Run the command line."""
    from appx.cli import run

    signal.signal(signal.SIGTERM, _interrupt)
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
