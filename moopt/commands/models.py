"""``moopt models``: list the base rankers and their default settings."""

from __future__ import annotations


def run(args) -> int:
    """Print every base ranker with its description and default settings.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line of ``moopt models`` (see ``moopt.cli.build_parser``).

    Returns
    -------
    int
        Exit status: 0.
    """
    from dataclasses import asdict

    from recommenders.models import MODELS

    for name, klass in MODELS.items():
        config = asdict(klass.config_class())
        doc = (klass.__doc__ or "").strip().splitlines()[0]
        print(f"{name:>9}  {doc}")
        if "epochs" in config:
            print(f"{'':>11}trains at most {config['epochs']} epochs, stopping after "
                  f"{config['patience']} validation rounds without a better NDCG@10 "
                  "(--epochs N, --set patience=P)")  # fmt: skip
        settings = ", ".join(f"{k}={v}" for k, v in config.items())
        print(f"{'':>11}{settings or '(no settings)'}")
    return 0
