"""krea-tui: a keyboard-driven terminal client for the Krea image-generation API."""

__version__ = "0.1.0"
