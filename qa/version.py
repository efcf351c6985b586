"""qa's version: one number, read by the package, the manifest a build writes and `qa --version`."""

__version__ = "0.1.0"
