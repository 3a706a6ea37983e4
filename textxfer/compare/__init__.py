"""Comparison grids: methods x augmentation x sizes x seeds -> one tidy table and a report."""

from .grid import CompareArgs, compare

__all__ = ["CompareArgs", "compare"]
