"""A local stand-in for the Krea API, served over real HTTP. No textual or rich import in here."""
