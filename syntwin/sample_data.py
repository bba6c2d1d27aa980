"""Where a checkout finds its real sample data (the SEER subset, the UCI room stream).

``$SYNTWIN_SHARED_DATA`` when set, else ``shared/data`` beside the checkout (``../shared/data`` from the
repository root), as the shipped scenarios reference it. Tests skip and benchmarks stop when a file is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def shared_data(name: str = "") -> Path:
    """Path of ``name`` in the shared data folder (the folder itself for ``""``); it may not exist."""
    root = Path(os.environ.get("SYNTWIN_SHARED_DATA", REPO.parent / "shared" / "data"))
    return root / name if name else root
