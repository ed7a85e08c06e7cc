"""The README cannot drift: every CLI command and option is documented there."""

from pathlib import Path

from searchkit.cli import main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")


def test_every_command_has_a_readme_section_and_an_example():
    for name, command in main.commands.items():
        assert f"### searchkit {name}" in README, name
        assert "Example:" in (command.help or ""), name


def test_every_query_option_is_in_the_readme():
    options = [opt for p in main.commands["query"].params for opt in p.opts if opt.startswith("--")]
    assert options
    for option in options:
        assert option in README, option


def test_two_commands_come_first():
    assert README.index("make run") < README.index("## The command line")
    assert README.index("make test") < README.index("## The command line")
