"""The README's Python example runs as written, and the public API is lazy (``import syntwin`` stays light)."""

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def python_example() -> str:
    text = README.read_text()
    section = text[text.index("## Python API"):]
    section = section[: section.index("\n## ", 1)]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the Python API section should hold one runnable example"
    return blocks[0]


def test_readme_python_example_runs(tmp_path):
    script = tmp_path / "example.py"
    script.write_text(python_example())
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(r"3000 patients, \d+ edges, \d+ communities", proc.stdout)
    assert "release allowed:" in proc.stdout
    assert (tmp_path / "twin_model.npz").is_file()


def test_import_is_lazy_and_api_resolves():
    code = ("import sys, syntwin; heavy = [m for m in ('dask', 'torch', 'mesa', 'igraph', 'pandas') if m in sys.modules];"
            "print(heavy); names = [n for n in syntwin.__all__ if n != '__version__'];"
            "[getattr(syntwin, n) for n in names]; print(len(names))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300).stdout.split()
    assert out[0] == "[]" and int(out[1]) >= 15
