"""Hostile paths, names and arguments: links planted where surgsteer writes, model metadata
that would name a path or markup, ``~user`` paths, special files, arguments and file names
that are not UTF-8, and language codes that are slips. Each is refused with one ``Error:``
line (nothing written through a link), or handled, never a traceback."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from surgsteer_cli import vector_file
from surgsteer_cli.cli import main
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.evaluation.results import LOCK, RESULTS, ResultStore
from surgsteer_cli.session import Session, SteeringRequest

RUN = {"split": "test"}


def one_error(result: Result, *needles: str) -> str:
    """The single ``Error:`` line of a failed command, which must hold each of ``needles``."""
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, result.stderr
    assert all(needle in lines[0] for needle in needles), lines[0]
    return lines[0]


def test_a_results_file_that_is_a_link_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("a\nb")  # a torn last line, as a kill leaves: truncated on resume
    (run / RESULTS).symlink_to(victim)
    with pytest.raises(SurgsteerError, match="results.jsonl is a symbolic link"):
        ResultStore(run, RUN)
    assert victim.read_text() == "a\nb"


def test_a_dangling_lock_link_creates_nothing_outside_the_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    outside = tmp_path / "outside" / "planted"
    outside.parent.mkdir()
    (run / LOCK).symlink_to(outside)
    with pytest.raises(SurgsteerError, match=r"\.lock is a symbolic link"):
        ResultStore(run, RUN)
    assert not outside.exists()
    assert not (run / RESULTS).exists()


def test_the_layer_report_and_plot_replace_links_instead_of_writing_through(
    tmp_path: Path,
) -> None:
    pytest.importorskip("torch")
    from surgsteer_convert.layers import LayerReport, plot

    blocks = 4
    report = LayerReport(
        model_id="m",
        fingerprint="f",
        n_layer=blocks,
        languages=["ko", "zh"],
        method="test",
        crosslingual=[0.5] * blocks,
        culture=[0.5] * blocks,
        chance=0.5,
        en_norm=[1.0] * blocks,
        loc_norm=[1.0] * blocks,
        cos_en_loc=[0.0] * blocks,
        cos_en_loc_bands=0.0,
        en_band=(1, 1),
        loc_band=(2, 3),
    )
    for name, write in (("layers.json", report.save), ("layers.png", lambda p: plot(report, p))):
        victim = tmp_path / f"victim-{name}"
        victim.write_text("keep")
        link = tmp_path / name
        link.symlink_to(victim)
        write(link)
        assert victim.read_text() == "keep"
        assert not link.is_symlink() and link.stat().st_size > 0


@pytest.mark.parametrize(
    ("architecture", "size"),
    [("x[/red]\x1b[2J", "x/../.."), ("..", None), ("llama", "../../etc"), ("", "/")],
)
def test_model_ids_from_metadata_are_safe_folder_names(architecture: str, size: Any) -> None:
    pytest.importorskip("torch")
    from surgsteer_convert.loading import model_id

    name = model_id({"general.architecture": architecture, "general.size_label": size})
    assert name and name not in (".", "..") and not name.startswith(".")
    assert not set(name) & set("/\\[]\x1b")
    assert Path("vectors", name).resolve().parent == Path("vectors").resolve()


def test_known_model_ids_are_unchanged() -> None:
    pytest.importorskip("torch")
    from surgsteer_convert.loading import model_id

    metadata = {"general.architecture": "qwen2", "general.size_label": "1.5B"}
    assert model_id(metadata) == "qwen2-1.5b"
    assert model_id({"general.architecture": "gemma3"}) == "gemma3"


def test_a_home_of_a_user_that_does_not_exist_is_one_error() -> None:
    result = CliRunner().invoke(main, ["ask", "--model", "~nosuchuser-29/x.gguf", "hi"])
    one_error(result, "~nosuchuser-29/x.gguf")


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize(
    "args",
    [["ask", "--model", "/proc/self/mem", "hi"], ["vectors", "inspect", "/proc/self/mem"]],
    ids=["model", "vector"],
)
def test_an_unreadable_special_file_is_one_error_naming_it(args: list[str]) -> None:
    one_error(CliRunner().invoke(main, args), "/proc/self/mem: Input/output error")


@pytest.mark.usefixtures("cached_engine")
def test_a_question_that_is_not_utf8_is_one_error() -> None:
    question = os.fsdecode(b"caf\xe9 capital?")  # as Python reads such an argument
    result = CliRunner().invoke(main, ["ask", "--max-tokens", "1", question])
    one_error(result, "not valid UTF-8", "caf\\xe9 capital?")


def test_json_output_is_utf8_whatever_the_file_names(
    tmp_path: Path, make_vector: Callable[..., Any]
) -> None:
    folder = tmp_path / "vectors"
    path = folder / os.fsdecode(b"ko-\xe9\xff.loc.gguf")
    vector_file.write(make_vector("loc", "ko", [12]), path)
    for args in (["vectors", "ls", "--json", str(folder)], ["vectors", "inspect", "--json"]):
        args = args if "ls" in args else [*args, str(path)]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        text = result.stdout_bytes.decode("utf-8")  # strict
        records = json.loads(text)
        record = records[0] if isinstance(records, list) else records
        assert record["file"] == str(path)  # the escapes parse back to the same name


@pytest.mark.usefixtures("cached_engine")
def test_ask_json_is_utf8_with_a_vector_file_name_that_is_not(
    tmp_path: Path, make_vector: Callable[..., Any]
) -> None:
    path = tmp_path / "v" / os.fsdecode(b"ko-\xff.loc.gguf")
    vector_file.write(make_vector("loc", "ko", [12]), path)
    args = ["ask", "--json", "--max-tokens", "1", "--lang", "ko", "--vectors", str(path.parent)]
    result = CliRunner().invoke(main, [*args, "hi"])
    assert result.exit_code == 0, result.output
    assert str(path) in json.loads(result.stdout_bytes.decode("utf-8"))["vector_files"]


@pytest.mark.parametrize(("code", "hint"), [("kr", "did you mean ko?"), ("cn", "did you mean zh?")])
def test_a_country_code_for_a_language_is_refused_with_the_language(
    engine, code: str, hint: str
) -> None:
    with pytest.raises(SurgsteerError, match=hint):
        Session(engine, {}).check_language(code)


def test_codes_that_are_no_language_are_refused_and_real_languages_kept(engine) -> None:
    session = Session(engine, {})
    for code in ("xx", "k1", "q"):
        with pytest.raises(SurgsteerError, match="unknown language"):
            session.check_language(code)
    assert session.check_language("FR") == "fr"  # ISO 639-1: answered unsteered
    steering = session.steering("Bonjour", SteeringRequest(language="fr"))
    assert steering.profile is None and "no fr profile" in (steering.note or "")


def test_ask_refuses_a_slip_with_one_error() -> None:
    result = CliRunner().invoke(main, ["ask", "--lang", "kr", "hi"])
    one_error(result, "unknown language 'kr'", "did you mean ko?")
