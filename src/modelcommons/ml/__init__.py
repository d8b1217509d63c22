"""Customization: tune, evaluate and run hub models on your own data.

Nothing here imports torch or transformers at import time; each task module does, when used.
Bases and datasets are fetched through the HF protocol, so the same code works against any
HF-compatible hub, or from local files.
"""
