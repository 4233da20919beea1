"""torch helpers shared by the engine and ``recommenders``' rankers: one definition each.

A leaf module (torch only), so ``recommenders`` may import it without loading the
engine, pymoo or Numba (see ``moopt``)."""

from __future__ import annotations

import contextlib

import torch


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """The torch device for ``device``.

    Parameters
    ----------
    device : str or torch.device, default "auto"
        ``"auto"`` (CUDA when available, else the CPU), a torch device string such as
        ``"cpu"`` or ``"cuda:0"``, or a ``torch.device`` (returned as is).

    Returns
    -------
    torch.device
        The resolved device.

    Raises
    ------
    ValueError
        For a string torch cannot parse, or CUDA asked for where none is available.
    """
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:n]', got {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but CUDA is not available; use 'auto'")
    return dev


@contextlib.contextmanager
def deterministic():
    """Deterministic torch kernels inside the block, restoring the caller's setting.

    Parallel CPU kernels (e.g. the embedding backward) otherwise sum duplicate indices in
    a varying order, so the same seed gave weights differing in the last bits. With it a
    seed reproduces a run exactly at a given thread count; across thread counts BLAS
    blocking still differs at float rounding level (~1e-7 in the scores).
    """
    previous = torch.are_deterministic_algorithms_enabled()
    previous_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous, warn_only=previous_warn)
