"""Print pyproject.toml's pins without torch, torchvision and snakemake (whose jsonschema is
pinned to the version the main venv has), plus the test tools: the torch-free test environment."""
import tomllib
from importlib import metadata
from pathlib import Path

project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
skip = {"torch", "torchvision", "snakemake"}
for req in project["dependencies"] + project["optional-dependencies"]["test"]:
    if req.split("==")[0] not in skip and not req.startswith("snakemake-executor"):
        print(req)
print(f"jsonschema=={metadata.version('jsonschema')}")
