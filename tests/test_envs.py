"""Conda environments: exact pins equal to pyproject.toml, and every import of every rule provided.

Conda channels are unreachable here, so the environments cannot be solved; these checks are
static (versions, declared imports) plus one dynamic check: the modules each rule's job really
imported during the end-to-end run must be provided by that rule's environment.
"""
import ast
import functools
import json
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_TO_PIP = {"pytorch": "torch", "matplotlib-base": "matplotlib", "python-igraph": "igraph"}
IMPORT_TO_PIP = {"sklearn": "scikit-learn", "yaml": "pyyaml", "PIL": "pillow"}
NOT_CHECKED = {"python", "pip"}
# Imported inside try/except by a library (so optional) and present here only as another tool's
# dependency: numpy.f2py tries charset_normalizer; scikit-learn tries pandas (which brings
# python-dateutil) and joblib tries psutil; torch._dynamo (which torch.optim imports) tries tabulate
# in an exit handler; each falls back without it.
OPTIONAL_IMPORTS = {"charset-normalizer", "pandas", "python-dateutil", "psutil", "tabulate"}


def pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    out = {}
    for req in reqs:
        name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)==([^;\s]+)", req.strip()).groups()
        out[name.lower()] = version
    return out


def env_packages(env: str) -> dict[str, str]:
    spec = yaml.safe_load((ROOT / "envs" / env).read_text())
    out = {}
    for dep in spec["dependencies"]:
        items = dep["pip"] if isinstance(dep, dict) else [dep]
        for item in items:
            name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)==?([^\s]+)", item).groups()
            out[CONDA_TO_PIP.get(name, name).lower()] = version
    return out


# Prints {rule: [env file, script file]} of the workflow's rules with a script, as Snakemake reads them
# (with config.yaml): figures.smk makes its rules with a template, so the rule files do not name them.
RULE_ENVS = """
import json
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings
with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
    rules = api.workflow(resource_settings=ResourceSettings(), config_settings=ConfigSettings(),
                         snakefile=Path("Snakefile"))._workflow.rules
    print(json.dumps({r.name: [r.conda_env and Path(str(r.conda_env)).name, Path(r.script).name]
                      for r in rules if r.script}))
"""


@functools.cache
def rule_envs() -> dict[str, tuple[str, str]]:
    """rule name -> (env file, script file)."""
    proc = subprocess.run([sys.executable, "-c", RULE_ENVS], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = {name: tuple(v) for name, v in json.loads(proc.stdout.splitlines()[-1]).items()}
    for name, (env, _) in out.items():
        assert env, f"rule {name} has a script but no conda env"
    return out


ENVS = sorted(p.name for p in (ROOT / "envs").glob("*.yaml"))


@pytest.mark.parametrize("env", ENVS)
def test_env_is_pinned_exactly_like_pyproject(env):
    spec = yaml.safe_load((ROOT / "envs" / env).read_text())
    assert spec["channels"][-1] == "nodefaults" and "conda-forge" in spec["channels"]
    p = pins()
    for name, version in env_packages(env).items():
        if name in NOT_CHECKED:
            continue
        assert name in p, f"{env}: {name} is not pinned in pyproject.toml"
        assert version == p[name], f"{env}: {name}={version} but pyproject pins {p[name]}"


def test_python_version_matches():
    """pip admits every Python the pins support (3.11 and newer); the conda envs pin 3.11, the one
    Python every pinned package, torch's CPU wheel included, was tested with here."""
    from packaging.specifiers import SpecifierSet

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    spec = SpecifierSet(project["requires-python"])
    assert all(v in spec for v in ("3.11", "3.12", "3.13")) and "3.10" not in spec
    for env in ENVS:
        assert env_packages(env)["python"] == "3.11"


def test_every_rule_with_a_script_has_an_env():
    envs = rule_envs()
    assert {"train", "similarity", "cluster", "compare", "fig3"} <= set(envs)
    for env, script in envs.values():
        assert (ROOT / "envs" / env).exists() and (ROOT / "workflow/scripts" / script).exists()


@functools.cache
def _packages_distributions() -> dict:
    return metadata.packages_distributions()


def _distribution(module: str) -> str | None:
    if module in sys.stdlib_module_names or module in {"unitclust", "common", "snakemake", "__main__",
                                                       "_distutils_hack"}:
        return None
    if module.startswith(("_", "snakemake")):  # Snakemake's script preamble brings its own path
        return None
    dists = _packages_distributions().get(module)
    if not dists:  # not from an installed distribution (e.g. Cython's in-memory cython_runtime)
        return IMPORT_TO_PIP.get(module)
    return dists[0].lower()


def _closure(names) -> set[str]:
    """The env's packages and everything they require (pip metadata), lower-case names."""
    todo, seen = [n.lower() for n in names], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            reqs = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for r in reqs:
            if "extra ==" in r:
                continue
            todo.append(re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower().replace("_", "-"))
    return {s.replace("_", "-") for s in seen}


def _third_party_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    mods = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            mods.add(node.module.split(".")[0])
    return {m for m in mods if _distribution(m)}


def test_every_import_in_the_code_is_provided_by_some_env():
    provided = set().union(*(_closure(env_packages(e)) for e in ENVS))
    files = list((ROOT / "src/unitclust").rglob("*.py")) + list((ROOT / "workflow/scripts").rglob("*.py"))
    for f in files:
        for mod in _third_party_imports(f):
            dist = _distribution(mod).replace("_", "-")
            if f.name == "config.py" and dist == "jsonschema":
                continue  # used by the Snakefile process (Snakemake's own dependency), not by jobs
            assert dist in provided, f"{f.name} imports {mod} ({dist}) which no env provides"


def check_audit(folder: Path) -> None:
    """Each job's recorded imports (UNITCLUST_IMPORT_AUDIT) are provided by its rule's env."""
    envs = rule_envs()
    records = [json.loads(p.read_text()) for p in folder.glob("*.json")]
    assert records, "no import audit was recorded"
    closures = {}
    for rec in records:
        env = envs[rec["rule"]][0]
        provided = closures.setdefault(env, _closure(env_packages(env)))
        imported = {(_distribution(m) or "").replace("_", "-") for m in rec["modules"]}
        missing = imported - provided - OPTIONAL_IMPORTS - {""}
        assert not missing, f"rule {rec['rule']} imported {sorted(missing)}, not in envs/{env}"
