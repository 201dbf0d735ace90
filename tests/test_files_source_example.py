"""The worked example of experiments/real_sites_example: its writer, its YAML and its README agree."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import attrs
import pytest
import yaml

from s1da.components.sources.site_files import SiteFilesOptions, site_files_data
from s1da.containers import schema
from s1da.framework.config import build_parameters

EXAMPLE = Path(__file__).resolve().parents[1] / "experiments" / "real_sites_example"


def _make_files_module():
    spec = importlib.util.spec_from_file_location("real_sites_make_files", EXAMPLE / "make_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_files_build_the_documented_network(tmp_path):
    _make_files_module().write_files(tmp_path)
    options = schema.load(EXAMPLE / "real_sites.yaml")["source"]["parameters"]
    assert isinstance(options, SiteFilesOptions)
    experiment = yaml.safe_load((EXAMPLE / "real_sites.yaml").read_text())["experiment"]
    with pytest.warns(UserWarning, match=r"1 site\(s\) dropped .*site 310 \(dune_heath\)"):
        data = site_files_data(
            attrs.evolve(options, base_dir=str(tmp_path)),
            start=experiment["spinup_start"], end=experiment["end"], run_start=experiment["start"],
        )
    assert data.site_ids.tolist() == [101, 102, 205]
    assert (data.observations["backscatter"].notnull().sum("time") >= 100).all()
    assert data.insitu is not None and data.insitu.notnull().sum() > 3 * 120


def test_every_option_block_of_the_readme_is_valid():
    text = (EXAMPLE / "README.md").read_text()
    block = re.search(r"## Every option\s+```yaml\n(.*?)```", text, re.S).group(1)
    section = dict(yaml.safe_load(block)["source"])
    assert section.pop("kind") == "files"
    options = build_parameters(SiteFilesOptions, section, "source", "README.md")
    documented = set(section) | {f"{k}.{key}" for k, v in section.items() if isinstance(v, dict) for key in v}
    fields = {field.name for field in attrs.fields(SiteFilesOptions)}
    nested = {f"{field.name}.{inner.name}" for field in attrs.fields(SiteFilesOptions)
              if attrs.has(field.type if isinstance(field.type, type) else type(getattr(options, field.name)))
              for inner in attrs.fields(type(getattr(options, field.name)))}
    assert fields | nested <= documented
