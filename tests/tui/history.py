"""The fixed demo history lives in the package (the screenshot script uses it too)."""

from krea_tui.showcase import NOW, PROMPTS, STATUSES, fill, static_runtime_factory, write_picture

__all__ = ["NOW", "PROMPTS", "STATUSES", "fill", "static_runtime_factory", "write_picture"]
