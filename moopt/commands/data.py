"""``moopt data``: show a dataset's counts."""

from __future__ import annotations


def run(args) -> int:
    """Print the counts and genre names of the dataset ``args.name``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line of ``moopt data`` (see ``moopt.cli.build_parser``).

    Returns
    -------
    int
        Exit status: 0.
    """
    from recommenders.pipeline import load_data

    ds = load_data(args.name, args.path)
    for key, value in ds.summary().items():
        print(f"{key:>16}: {value}")
    print(f"{'genre names':>16}: {', '.join(ds.genre_names)}")
    return 0
