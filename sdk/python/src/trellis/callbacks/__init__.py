"""Framework callbacks that report each validation epoch to Trellis and honour stop requests.

``trellis.callbacks.lightning.TrellisCallback`` (PyTorch Lightning) and
``trellis.callbacks.huggingface.TrellisCallback`` (Hugging Face Trainer). Each module imports its
framework only when the framework is installed; the SDK itself needs neither.
"""
