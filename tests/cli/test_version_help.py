"""`maskgate --version` and the help texts people read."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import typer

import maskgate.cli
from maskgate.cli import app
from tests.cli.conftest import invoke


def test_version_is_the_installed_package_version():
    r = invoke("--version")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == f"maskgate {version('maskgate')}"


def test_version_from_the_installed_entry_point_process():
    r = subprocess.run(
        [sys.executable, "-m", "maskgate", "--version"], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["maskgate", version("maskgate")]


def _commands(group, prefix: str = ""):
    for name, cmd in group.commands.items():
        yield f"{prefix}{name}", cmd
        if hasattr(cmd, "commands"):  # a sub-group (typer ships its own click)
            yield from _commands(cmd, f"{prefix}{name} ")


def test_every_command_has_its_own_help_not_a_docstring():
    root = typer.main.get_command(app)
    assert root.help and "parses arguments" not in root.help
    assert maskgate.cli.__doc__.strip() not in root.help
    top = invoke("--help")
    assert top.exit_code == 0 and "product images" in top.stdout
    names = dict(_commands(root))
    assert {"mask", "text-mask", "isolate", "erase", "check", "review import", "models pull"} <= set(names)
    for name, cmd in names.items():
        assert cmd.help and cmd.help.strip(), f"`maskgate {name}` has no help text"
        callback = getattr(cmd, "callback", None)
        if callback is not None and not hasattr(cmd, "commands"):
            # the help was set explicitly: a docstring is for the code's reader, not the user
            assert callback.__doc__ is None or callback.__doc__.strip() != cmd.help.strip(), name
        shown = invoke(*name.split(), "--help")
        assert shown.exit_code == 0, (name, shown.output)
        assert cmd.help.split()[0] in shown.stdout, name
        for param in cmd.params:
            if param.param_type_name == "option" and param.name != "help":
                assert param.help, f"`maskgate {name}` option {param.opts[0]} has no help"
