"""zsac's version: one home, read by the package, saved models and ``pyproject.toml``."""

__version__ = "0.1.0"
