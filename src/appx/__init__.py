"""appx: install Python command-line applications in isolated environments."""

__version__ = "0.1.0"
