"""``surgsteer vectors ls`` and ``vectors inspect`` on vector files written for the test."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from surgsteer_cli import vector_file
from surgsteer_cli.cli import main
from surgsteer_cli.paths import user_vectors_dir


def vectors(*args: str) -> Result:
    return CliRunner().invoke(main, ["vectors", *args])


@pytest.fixture
def ko_pair(make_vector, tmp_path: Path) -> tuple[Path, Path]:
    """EN at blocks 4-8 (band 5-7) and LOC at 7-12 (band 10-12): blocks 7 and 8 overlap."""
    en = make_vector("en", "ko", range(4, 9), scale=4.0, band=(5, 7), seed=1)
    loc = make_vector("loc", "ko", range(7, 13), scale=2.0, band=(10, 12), seed=2)
    loc.directions[8] = -2 * en.directions[8]  # exactly opposite at block 8
    return (
        vector_file.write(en, tmp_path / "ko.en.gguf"),
        vector_file.write(loc, tmp_path / "ko.loc.gguf"),
    )


def test_ls_lists_each_file_with_model_language_role_layers_band_and_scale(
    ko_pair, loaded_engine, tmp_path: Path
) -> None:
    result = vectors("ls", "--json", str(tmp_path))
    assert result.exit_code == 0, result.output
    model = dataclasses.asdict(loaded_engine.spec)
    assert json.loads(result.stdout) == [
        {
            "file": str(ko_pair[0]),
            "model": model,
            "language": "ko",
            "role": "en",
            "layers": [4, 5, 6, 7, 8],
            "band": [5, 7],
            "scale": 4.0,
        },
        {
            "file": str(ko_pair[1]),
            "model": model,
            "language": "ko",
            "role": "loc",
            "layers": [7, 8, 9, 10, 11, 12],
            "band": [10, 12],
            "scale": 2.0,
        },
    ]
    table = vectors("ls", str(tmp_path)).stdout
    for cells in (["ko", "en", "4-8", "5-7", "4", "ko.en.gguf"], ["loc", "7-12", "10-12", "2"]):
        assert any(all(f" {cell} " in line for cell in cells) for line in table.splitlines())


def test_ls_without_a_dir_reads_the_user_vectors_and_warns_about_broken_files(
    make_vector,
) -> None:
    directory = user_vectors_dir() / "gemma3-270m"
    path = vector_file.write(make_vector("loc", "ha", [12], scale=0.5), directory / "ha.loc.gguf")
    (directory / "bad.gguf").write_bytes(b"GGUF" + b"\x00" * 10)
    result = vectors("ls", "--json")
    assert result.exit_code == 0, result.output
    assert str(path) in [record["file"] for record in json.loads(result.stdout)]
    assert "skipping" in result.stderr and "bad.gguf" in result.stderr


def test_ls_of_an_empty_or_missing_dir(tmp_path: Path) -> None:
    result = vectors("ls", str(tmp_path))
    assert result.exit_code == 0
    assert f"No vector files in {tmp_path}." in result.stderr
    result = vectors("ls", str(tmp_path / "missing"))
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {tmp_path / 'missing'}: no such directory"


def test_inspect_json_gives_tags_norms_band_and_cosines(ko_pair) -> None:
    en_path, loc_path = ko_pair
    en, loc = vector_file.read(en_path), vector_file.read(loc_path)
    result = vectors("inspect", "--json", str(loc_path))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    tags = report["tags"]
    assert tags["general.architecture"] == "controlvector"
    assert tags["controlvector.layer_count"] == 6
    assert tags["surgsteer.role"] == "loc" and tags["surgsteer.language"] == "ko"
    assert tags["surgsteer.default_scale"] == 2.0
    assert tags["surgsteer.model.fingerprint"] == loc.model.fingerprint
    assert tags["surgsteer.method"] == "random test vector"
    assert report["band"] == [10, 12]
    assert report["sibling"] == str(en_path)
    layers = {row["block"]: row for row in report["layers"]}
    assert sorted(layers) == list(range(7, 13))
    for block, row in layers.items():
        assert row["norm"] == pytest.approx(float(np.linalg.norm(loc.directions[block])))
        assert row["in_band"] == (10 <= block <= 12)
    expected_cos_7 = float(
        en.directions[7]
        @ loc.directions[7]
        / (np.linalg.norm(en.directions[7]) * np.linalg.norm(loc.directions[7]))
    )
    assert layers[7]["cos_other_role"] == pytest.approx(expected_cos_7, abs=1e-6)
    assert layers[8]["cos_other_role"] == pytest.approx(-1.0, abs=1e-6)
    assert layers[9]["cos_other_role"] is None  # no EN direction at block 9


def test_inspect_table_without_a_sibling(make_vector, tmp_path: Path) -> None:
    path = vector_file.write(make_vector("en", "zh", [6], band=(6, 6)), tmp_path / "zh.gguf")
    result = vectors("inspect", str(path))
    assert result.exit_code == 0, result.output
    assert "surgsteer.language" in result.stdout and "zh" in result.stdout
    assert "cos(EN, LOC)" not in result.stdout
    assert json.loads(vectors("inspect", "--json", str(path)).stdout)["sibling"] is None


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read vector file"), (b"junk", "not a GGUF file"), (b"GGUF\x03", "malformed")],
)
def test_inspect_bad_files_is_a_one_line_error(tmp_path: Path, content, message) -> None:
    path = tmp_path / "v.gguf"
    if content is not None:
        path.write_bytes(content)
    result = vectors("inspect", str(path))
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"Error: {path}: ") and message in line
