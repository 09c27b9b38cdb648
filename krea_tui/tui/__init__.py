"""The Textual app. It drives the engine through its events and never speaks HTTP itself."""
