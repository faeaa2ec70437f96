"""fakevoice: tell real human voices from AI-generated ones in noisy clips."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Detector", "__version__"]


def __getattr__(name: str) -> Any:
    # torch loads only when the API is used, not for `fakevoice --help` or `score`
    if name == "Detector":
        from fakevoice.api import Detector

        return Detector
    raise AttributeError(f"module 'fakevoice' has no attribute {name!r}")
