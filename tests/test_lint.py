"""What ruff (``[tool.ruff]`` in pyproject.toml, run by .ci/run) cannot check: every suppression of a
lint or type check carries its reason on the same line."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUPPRESSION = re.compile(r"#\s*(noqa|type:\s*ignore|pragma:\s*no cover)\b"  # the suppression,
                         r"(:\s*[A-Z]+\d+(\s*,\s*[A-Z]+\d+)*|\[[\w, -]+\])?"  # its codes,
                         r"(?P<rest>.*)$")  # then the reason


def python_files():
    for folder in ("src", "tests", "workflow/scripts", "benchmarks"):
        yield from (p for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def test_every_suppression_has_its_reason():
    bare = []
    for path in python_files():
        for i, line in enumerate(path.read_text().splitlines(), 1):
            match = SUPPRESSION.search(line)
            if match and not re.match(r"\s*[-:]\s*\w", match["rest"]):
                bare.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not bare, "suppressions without a reason (add ' - why' after the codes):\n" + "\n".join(bare)
