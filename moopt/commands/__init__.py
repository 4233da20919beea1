"""Commands of the ``moopt`` CLI that live in a module of their own: each exposes
``add_parser(sub)`` and ``run(args) -> int``, and moopt/cli.py registers it."""
