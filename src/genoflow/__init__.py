"""genoflow: the successor to the Microsoft Genomics client and service."""

__version__ = "0.1.0"
