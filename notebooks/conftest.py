"""The notebooks' test settings. nbmake runs every notebook here as a test
(pyproject.toml) in a kernel that inherits this environment: with
``MOOPT_NOTEBOOK_QUICK=1`` a notebook may run its small-settings cell smaller still where
nothing the notebook checks depends on the size (04_multimodal: one epoch per training,
not three) and use one torch thread (the suite runs one test process per core). The
committed outputs are those of the settings as written."""

import os

os.environ.setdefault("MOOPT_NOTEBOOK_QUICK", "1")
