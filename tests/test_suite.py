"""The suite's own settings: what conftest.py marks slow still exists (a renamed test would silently
move back into the fast tier)."""
import re
from pathlib import Path

from conftest import SLOW_FIXTURES, SLOW_TESTS

TESTS = Path(__file__).resolve().parent


def test_slow_tests_exist():
    for entry in SLOW_TESTS:
        file, _, name = entry.partition("::")
        source = (TESTS / file).read_text()
        test = re.escape(name.partition("[")[0])
        assert re.search(rf"^def {test}\(", source, re.M), f"conftest.SLOW_TESTS: no {entry}"


def test_slow_fixtures_exist():
    for file, fixture in SLOW_FIXTURES:
        source = (TESTS / file).read_text()
        assert re.search(rf"@pytest\.fixture[^\n]*\ndef {fixture}\(", source), \
            f"conftest.SLOW_FIXTURES: no {fixture} in {file}"
