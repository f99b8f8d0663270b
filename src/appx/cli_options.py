"""Options that several commands share, declared once."""

from __future__ import annotations

from typing import Annotated

import typer

Backend = Annotated[
    str | None,
    typer.Option(
        "--backend",
        metavar="[pip|uv]",
        help="The installer: pip or uv (default: APPX_BACKEND, else the app's own, else uv"
        " when it is available).",
    ),
]
