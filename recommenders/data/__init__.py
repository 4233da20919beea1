"""Datasets, splits and sampled evaluation sets."""

from .atomic import write_atomic
from .dataset import Dataset
from .interactions import Interactions
from .loaders import (
    DatasetNotFoundError,
    default_cache_dir,
    load_dataset,
    read_atomic,
    read_folder,
    read_grouplens_100k,
    read_ml1m,
    recbole_ml100k_dir,
)
from .split import Split, leave_one_out, make_split, ratio_split, sample_negatives
from .synthetic import make_synthetic
from .synthetic_large import make_synthetic_large

__all__ = [
    "Dataset",
    "DatasetNotFoundError",
    "Interactions",
    "Split",
    "default_cache_dir",
    "leave_one_out",
    "load_dataset",
    "make_split",
    "make_synthetic",
    "make_synthetic_large",
    "ratio_split",
    "read_atomic",
    "read_folder",
    "read_grouplens_100k",
    "read_ml1m",
    "recbole_ml100k_dir",
    "sample_negatives",
    "write_atomic",
]
