"""``freqlens --help`` loads no numerical library: the CLI modules import them inside their commands."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("numpy", "scipy", "pandas", "torch", "matplotlib", "skimage", "cv2", "soundfile", "PIL")

SCRIPT = f"""
import json, sys
from freqlens.cli import main
try:
    main(["--help"])
except SystemExit:
    pass
print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
"""


def test_help_imports_no_numerical_library():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Commands" in proc.stdout and "edges" in proc.stdout and "conv" in proc.stdout and "run" in proc.stdout
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded == [], f"freqlens --help imported {loaded}"
