"""pyovn: Open Virtual Network in Python."""

__version__ = "0.1.0"
