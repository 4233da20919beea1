"""Commands of the ``moopt`` CLI that live in a module of their own.

``candidates``, ``apply`` and ``report`` expose ``add_parser(sub)`` and ``run(args) -> int``,
and moopt/cli.py registers them. The others (``train``, ``demo``, ``rerank``, ``compare``,
``booml``, ``dwl``, ``multimodal``, ``pmors``, ``data``, ``models``) expose ``run(args)``;
their parsers are built in ``moopt.cli.build_parser``.
"""
