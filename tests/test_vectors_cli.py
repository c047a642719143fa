"""``surgsteer vectors ls``, ``vectors inspect`` and ``vectors export`` on vector files written
for the test."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from surgsteer_cli import inspection, vector_file
from surgsteer_cli.cli import main
from surgsteer_cli.errors import VectorFileError
from surgsteer_cli.paths import user_vectors_dir
from surgsteer_cli.profiles import Profile
from surgsteer_cli.steering import profile_buffer


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
    ko_pair, small_engine, tmp_path: Path
) -> None:
    result = vectors("ls", "--json", str(tmp_path))
    assert result.exit_code == 0, result.output
    model = dataclasses.asdict(small_engine.spec)
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


@pytest.fixture
def exported(ko_pair, model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``vectors export --lang ko`` from ``ko_pair`` alone (no shipped vectors)."""
    out = tmp_path_factory.mktemp("export") / "ko.llama.gguf"
    result = export(
        "--model", str(model_path), "--vectors", str(ko_pair[0].parent), "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    return out


def export(*args: str, lang: str = "ko") -> Result:
    return vectors("export", "--lang", lang, *args)


@pytest.fixture
def no_shipped_vectors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SURGSTEER_SHIPPED_VECTORS", "")


def test_export_holds_asks_buffer_only_on_the_steered_blocks(
    no_shipped_vectors, ko_pair, exported: Path, small_engine
) -> None:
    en, loc = (vector_file.read(path) for path in ko_pair)
    buffer = profile_buffer(Profile("ko", en, loc), small_engine.spec)
    vector = vector_file.load(exported)
    assert isinstance(vector, vector_file.ExportedVector)
    assert vector.layers == [5, 6, 7, 10, 11, 12]
    for block in range(1, small_engine.spec.n_layer):
        expected = buffer[block - 1]
        assert np.array_equal(vector.directions.get(block, np.zeros_like(expected)), expected)
    assert vector.config == "surgical" and vector.language == "ko"
    assert [(part.role, part.scale, part.blocks) for part in vector.parts] == [
        ("en", 4.0, (5, 6, 7)),
        ("loc", 2.0, (10, 11, 12)),
    ]
    tags = inspection.tags(exported)
    assert tags["surgsteer.kind"] == "llama.cpp" and tags["surgsteer.en.blocks"] == [5, 6, 7]
    assert tags["controlvector.layer_count"] == 6


def test_export_en_all_at_a_given_scale_uses_every_en_block(
    no_shipped_vectors, ko_pair, model_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "ko.gguf"
    options = ("--config", "en-all", "--en-scale", "0.5", "--vectors", str(ko_pair[0]))
    result = export("--model", str(model_path), *options, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "ko en-all: EN x0.5 @ blocks 4-8" in result.stderr
    en, vector = vector_file.read(ko_pair[0]), vector_file.load(out)
    assert vector.layers == [4, 5, 6, 7, 8]
    for block in vector.layers:
        assert np.array_equal(vector.directions[block], np.float32(0.5) * en.directions[block])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--lang", "fr"), "Error: no 'fr' profile for"),
        (("--lang", "ko", "--en-scale", "0", "--loc-scale", "0"), "Error: nothing to export"),
    ],
)
def test_export_errors_are_one_line(
    no_shipped_vectors, ko_pair, model_path: Path, tmp_path: Path, options, message
) -> None:
    out = tmp_path / "out.gguf"
    result = vectors(
        "export",
        "--model",
        str(model_path),
        "--vectors",
        str(ko_pair[0].parent),
        *options,
        "--out",
        str(out),
    )
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith(message)
    assert not out.exists()


def test_inspect_and_ls_explain_an_exported_file(no_shipped_vectors, exported: Path) -> None:
    report = json.loads(vectors("inspect", "--json", str(exported)).stdout)
    assert report["kind"] == "llama.cpp"
    assert report["baked"] == "ko surgical: EN x4 @ blocks 5-7 + LOC x2 @ blocks 10-12"
    assert "--control-vector FILE (strength 1" in report["llama_cpp"]
    assert [(row["block"], row["roles"]) for row in report["layers"]] == [
        (5, ["en"]),
        (6, ["en"]),
        (7, ["en"]),
        (10, ["loc"]),
        (11, ["loc"]),
        (12, ["loc"]),
    ]
    table = vectors("inspect", str(exported))
    assert table.exit_code == 0, table.output
    assert "steered by" in table.stdout and "surgsteer.config" in table.stdout
    assert "Baked for stock llama.cpp: ko surgical" in table.stderr
    [record] = json.loads(vectors("ls", "--json", str(exported.parent)).stdout)
    assert record["role"] == "en+loc" and record["scales"] == {"en": 4.0, "loc": 2.0}
    assert record["layers"] == [5, 6, 7, 10, 11, 12]


def test_an_exported_file_is_not_a_profile_vector(exported: Path) -> None:
    with pytest.raises(VectorFileError, match="baked for stock llama.cpp"):
        vector_file.read(exported)
