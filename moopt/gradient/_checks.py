"""The one validation of a gradient matrix, for every public function of moopt.gradient.

``min_norm``, ``gram_min_norm`` (its Gram matrix),
``pcgrad`` and ``project_conflicts`` take an
``(m, d)`` matrix, one objective per row, as a numpy array (or array-like) or a torch
tensor; they check it here, so the same bad input gets the same error from each.
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:  # torch is a dependency of the package, but the numpy path must not need it at runtime
    import torch
except ImportError:  # pragma: no cover
    torch = None


def check_matrix(x: Any, name: str = "G") -> Any:
    """A real, finite, non-empty 2-D matrix, one row per objective.

    Parameters
    ----------
    x:
        A numpy array or array-like, or a torch tensor on any device.
    name:
        The argument's name, for the messages.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        A floating array (integer and bool input as float64, a float dtype kept), or the
        detached tensor (integer and bool input in torch's default dtype), on its device.

    Raises
    ------
    TypeError
        For complex or non-numeric input.
    ValueError
        For a shape other than (m, d) with m, d >= 1, or a NaN or inf (naming its rows).
    """
    is_torch = torch is not None and isinstance(x, torch.Tensor)
    if is_torch:
        if x.is_complex():
            raise TypeError(f"{name} must be real, got complex dtype {x.dtype}; pass {name}.real")
        arr = x.detach()
        if not arr.is_floating_point():
            arr = arr.to(torch.get_default_dtype())
    else:
        arr = np.asarray(x)
        if arr.dtype.kind == "c":
            raise TypeError(
                f"{name} must be real, got complex dtype {arr.dtype}; pass its real part"
            )
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
        if arr.dtype.kind != "f":
            arr = arr.astype(np.float64)
    shape = tuple(arr.shape)
    if len(shape) != 2:
        raise ValueError(
            f"{name} must be 2-D (one row per objective), got shape {shape}; stack the "
            "flattened gradients row by row (np.stack or torch.stack)"
        )
    if shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"{name} must have at least one row and one column, got {shape}")
    if is_torch:
        finite_rows = torch.isfinite(arr).all(dim=1)
        bad = [] if bool(finite_rows.all()) else torch.nonzero(~finite_rows).flatten().tolist()
    else:
        finite_rows = np.isfinite(arr).all(axis=1)
        bad = np.flatnonzero(~finite_rows).tolist()
    if bad:
        raise ValueError(
            f"{name} contains non-finite values (NaN or inf) in row(s) {bad}; fix the losses "
            "or gradients that produced them first"
        )
    return arr
