"""The numpy array types gridpilot's series are held in, named once for every floor."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["BoolArray", "FloatArray", "IntArray"]

FloatArray = npt.NDArray[np.float64]
"""Values per slot: power [W], energy [kWh], prices [per kWh]."""
IntArray = npt.NDArray[np.int64]
"""Epoch seconds per slot, or indices."""
BoolArray = npt.NDArray[np.bool_]
"""A mask per slot."""
