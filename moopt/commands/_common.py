"""Helpers shared by the commands of ``moopt.cli`` (settings, seeds, tables)."""

from __future__ import annotations

from collections.abc import Sequence


def _parse_settings(pairs: Sequence[str]) -> dict[str, str]:
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"moopt: --set takes key=value pairs, got {pair!r}")
        settings[key.strip()] = value.strip()
    return settings


def _seed_range(args) -> range:
    """Seeds --seed .. --seed + --seeds - 1 of a multi-seed command."""
    if args.seeds < 1:
        raise ValueError(f"--seeds must be at least 1, got {args.seeds}")
    return range(args.seed, args.seed + args.seeds)


def _settings(args) -> dict:
    """Every option of a command, for its run record (the output folder aside: the record
    lies in it, and a run moved elsewhere is the same run)."""
    return {k: v for k, v in sorted(vars(args).items()) if k not in ("out", "version")}


def _print_table(table) -> None:
    print(table.to_string(index=False, na_rep="-", float_format=lambda x: f"{x:.4g}"))
