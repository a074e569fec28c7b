"""The package version, in a module of its own so that any layer can read it without importing
the package's API (structurer/__init__.py sits above every layer)."""

__version__ = "0.1.0"
