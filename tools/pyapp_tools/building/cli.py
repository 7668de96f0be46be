"""``pyapp-build``: build a ``.pyapp`` from a project directory (see :mod:`pyapp_tools.building.builder`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from apppackage import Problem

from ..commandline import emit, json_command
from .builder import BuildOptions, Reporter, build

__all__ = ["main"]


class _StderrReporter(Reporter):
    """Progress on stderr, so that stdout carries only the result."""

    def __init__(self) -> None:
        self._bar: Any = None

    def step(self, message: str) -> None:
        click.echo(f"==> {message}", err=True)

    def detail(self, line: str) -> None:
        click.echo(f"    {line}", err=True)

    def warning(self, problem: Problem) -> None:
        click.echo(f"warning: {problem}", err=True)

    def files(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = click.progressbar(length=total, label="    packing", file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(1)
        if done == total:
            self._bar.__exit__(None, None, None)
            self._bar = None


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("project_dir", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "-o", "--out-dir", type=click.Path(file_okay=False, path_type=Path),
    help="Where to write NAME-VERSION.pyapp (default: PROJECT_DIR/dist).",
)  # fmt: skip
@click.option(
    "--wheelhouse", type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Take dependency wheels only from this folder (no package index).",
)  # fmt: skip
@click.option("--offline", is_flag=True, help="Never use a package index; dependencies need --wheelhouse.")
@click.option("--no-deps", is_flag=True, help="Bundle no dependencies (no deps/): the host installs them.")
@click.option(
    "--sign", "sign", metavar="KEYFILE", type=click.Path(dir_okay=False, path_type=Path),
    help="Sign the package with this private key (made by: pyapp keygen KEYFILE): RECORD.sig.",
)  # fmt: skip
@json_command
@click.version_option(package_name="apppackage", prog_name="pyapp-build")
def main(
    project_dir: Path,
    out_dir: Path | None,
    wheelhouse: Path | None,
    offline: bool,
    no_deps: bool,
    sign: Path | None,
    as_json: bool,
) -> None:
    """Build PROJECT_DIR (default: .) into OUT_DIR/NAME-VERSION.pyapp and print its path.

    The package holds the resolved metadata.yaml (what pyproject.toml and
    setup.cfg add included), configuration.yaml, the code under `paths`, static
    dirs, the files `data` names (templates/**...), a wheel for every runtime
    dependency in deps/ with the pinned lock deps/requirements.txt, and RECORD.
    Wheels are chosen for the Python running pyapp-build. VCS dirs, caches,
    virtualenvs, dist/ and build/, files the project ignores (.gitignore) and
    what .pyappignore names are never packed; the files left out that the code
    could read are listed as warnings.

    Builds are reproducible: entries sorted, every timestamp SOURCE_DATE_EPOCH when
    set or else 1980-01-01, permissions 0644/0755, fixed compression. With
    --sign KEYFILE the package also holds RECORD.sig, an ed25519 signature of
    RECORD (deterministic: a signed build is reproducible too); hosts then pin
    that key (docs/signing.md).

    \b
    Examples:
      pyapp-build examples/hello
      pyapp-build myapp -o out --json
      pyapp-build myapp --wheelhouse ./wheels --offline
      pyapp-build myapp --sign ~/.config/pyapp/myapp.key
    """
    options = BuildOptions(
        out_dir=out_dir, wheelhouse=wheelhouse, offline=offline, no_deps=no_deps, sign=sign
    )
    result = build(project_dir, options, _StderrReporter())
    emit(result.to_dict(), as_json, _human)


def _human(data: dict[str, Any]) -> None:
    click.echo(
        f"==> Built {data['name']} {data['version']}: {data['files']} files, "
        f"{len(data['dependencies'])} bundled wheel(s), {data['size']} bytes, sha256 {data['sha256']}",
        err=True,
    )
    if data["signer"]:
        click.echo(f"==> Signed by {data['signer']}", err=True)
    click.echo(data["path"])
