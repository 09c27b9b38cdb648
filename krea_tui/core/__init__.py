"""The engine's core: API client, job models, catalogue. Nothing here imports textual or rich."""
