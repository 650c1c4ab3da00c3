"""maskgate: make, check and review AI-edited product images."""

__version__ = "0.1.0"
