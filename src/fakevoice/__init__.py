"""fakevoice: tell real human voices from AI-generated ones in noisy clips."""

__version__ = "0.1.0"
