"""One option name, one meaning (docs/options.md): every name that more than one command has
is documented with its form, repetition and environment variable, the commands of a row
declare it alike, and the shared parsers (languages, scales, threads) behave the same in
every command that has them."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from surgsteer_cli.cli import main
from surgsteer_cli.errors import SurgsteerError
from tests.test_limits import MODEL_COMMANDS

DOC = Path(__file__).resolve().parents[1] / "docs" / "options.md"
CELL = re.compile(r"(?<!\\)\|")
Key = tuple[str, bool, str | None]
"""An option as documented: its form in --help, whether it repeats, its environment variable."""


def commands(group: click.Group = main, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    """Every command of ``surgsteer``, subcommands of groups included, by its full name."""
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None
        if isinstance(command, click.Group):
            yield from commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


def options() -> dict[str, dict[str, click.Option]]:
    """Option name -> {command: its declaration}, for the names more than one command has."""
    found: dict[str, dict[str, click.Option]] = defaultdict(dict)
    for name, command in commands():
        for param in command.params:
            if isinstance(param, click.Option):
                found[param.opts[0]][name] = param
    return {option: uses for option, uses in found.items() if len(uses) > 1}


def key(command: str, option: click.Option) -> Key:
    form = option.get_help_record(click.Context(click.Command(command)))
    assert form is not None
    return form[0], option.multiple, option.envvar


def documented() -> dict[Key, tuple[str, set[str]]]:
    """The rows of the table in docs/options.md: key -> (meaning, commands)."""
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `--"):
            form, repeatable, env, meaning, names = (
                cell.strip().replace("\\|", "|") for cell in CELL.split(line)[1:-1]
            )
            row_key = (form.strip("`"), repeatable == "yes", env or None)
            assert row_key not in rows, f"{form} is in the table twice"
            rows[row_key] = (meaning, {name.strip() for name in names.split(",")})
    return rows


def declared() -> dict[Key, dict[str, click.Option]]:
    """Key -> {command: declaration}, as the commands declare the shared names."""
    rows: dict[Key, dict[str, click.Option]] = defaultdict(dict)
    for uses in options().values():
        for command, option in uses.items():
            rows[key(command, option)][command] = option
    return rows


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(main, list(args), env=env)
    assert "Traceback" not in result.output
    return result


def refused(result: Result, fragment: str) -> None:
    assert result.exit_code == 2, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: ") and fragment in last, last


def test_every_shared_option_name_is_documented_as_the_commands_declare_it() -> None:
    table = {row: names for row, (_, names) in documented().items()}
    assert {row: set(uses) for row, uses in declared().items()} == table


def test_the_commands_of_a_row_declare_the_option_alike() -> None:
    for row, uses in declared().items():
        shapes = {
            (
                repr(option.type.to_info_dict()),
                option.is_flag,
                getattr(option.callback, "__qualname__", None),
            )
            for option in uses.values()
        }
        assert len(shapes) == 1, (row, shapes)


def test_sweeps_say_so_in_their_help() -> None:
    rows = declared()
    for row, (meaning, _) in documented().items():
        if "sweep" in meaning:
            assert all("sweep" in (option.help or "") for option in rows[row].values()), row


def test_threads_are_the_same_option_in_every_command_that_runs_a_model() -> None:
    uses = options()["--threads"]
    assert set(uses) == set(MODEL_COMMANDS)
    helps = {key(command, option) + (option.help,) for command, option in uses.items()}
    assert len(helps) == 1
    assert helps.pop()[2] == "SURGSTEER_THREADS"


def single_language_commands() -> list[str]:
    return sorted(c for c, option in options()["--lang"].items() if not option.multiple)


def several_languages_commands() -> list[str]:
    return sorted(c for c, option in options()["--lang"].items() if option.multiple)


@pytest.mark.parametrize("command", single_language_commands())
def test_one_language_commands_refuse_a_list(command: str) -> None:
    refused(invoke(*command.split(), "--lang", "ko,zh"), "takes one language code, not 'ko,zh'")


@pytest.mark.parametrize("command", several_languages_commands())
def test_several_language_commands_refuse_an_empty_list(command: str) -> None:
    refused(invoke(*command.split(), "--lang", " , "), "no language code in ' , '")


def test_eval_takes_languages_comma_separated_and_repeated(monkeypatch) -> None:
    seen = []

    def run_eval(request) -> None:
        seen.append(request.languages)
        raise SurgsteerError("not evaluating")

    monkeypatch.setattr("surgsteer_cli.commands.eval.run_eval", run_eval)
    result = invoke("eval", "--lang", "ko,ZH", "--lang", "el", "--lang", "ko", "--limit", "1")
    assert result.output.strip().endswith("Error: not evaluating")
    assert seen == [["ko", "zh", "el"]]


@pytest.mark.parametrize("command", ["extract", "layers"])
def test_extraction_takes_languages_comma_separated_and_repeated(command: str, monkeypatch) -> None:
    seen = []

    def check_languages(languages) -> None:
        seen.append(languages)
        raise SurgsteerError("not extracting")

    monkeypatch.setattr("surgsteer_convert.commands.check_languages", check_languages)
    result = invoke(command, "--lang", "ko,zh", "--lang", "el")
    assert result.output.strip() == "Error: not extracting"
    assert seen == [("ko", "zh", "el")]


def test_detect_candidates_parse_like_languages() -> None:
    korean = "대한민국의 긴급 전화번호는 무엇인가요?"
    result = invoke("detect", "--json", "--candidates", "zh,ko", "--candidates", "en", korean)
    assert result.exit_code == 0, result.output
    assert '"language": "ko"' in result.output
    refused(invoke("detect", "--candidates", ",", korean), "no language code in ','")


@pytest.mark.parametrize("value", ["nan", "inf", "11"])
@pytest.mark.parametrize("command", ["ask", "chat", "vectors export"])
def test_scales_to_apply_are_checked_alike(command: str, value: str) -> None:
    refused(invoke(*command.split(), "--en-scale", value), "is not a number from -10 to 10")


@pytest.mark.parametrize(("value", "message"), [("inf", "from -10 to 10"), ("-1", "below 0")])
def test_stored_default_scales_are_checked(value: str, message: str) -> None:
    refused(invoke("extract", "--all", "--default-loc-scale", value), message)
