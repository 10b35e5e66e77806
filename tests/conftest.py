"""Settings shared by every test module."""

import tempfile
from pathlib import Path

from hypothesis.configuration import set_hypothesis_home_dir

# Hypothesis caches what it learns in ./.hypothesis; keep the repository clean.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "mgsurv-hypothesis")
