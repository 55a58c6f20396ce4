"""Tanso (炭素): an open-source carbon credit registry and exchange."""

__version__ = "0.1.0"
