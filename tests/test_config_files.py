"""A config file that is missing, empty, a list, or not valid YAML (issue 24): one message naming the
file -- with the line and column of a YAML error and that line's text -- and the fix, from run.sh
before Snakemake reads the file (Snakemake would say "Config file is not valid JSON or YAML" without
the file or line, or show a FileNotFoundError traceback), and from the Snakefile for its default
config/config.yaml."""

from __future__ import annotations

import subprocess

import pytest
from conftest import REPO

from pathverdict import configfiles


def problem(tmp_path, name: str, text: str | None) -> str:
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    msg = configfiles.problem(path)
    assert msg and msg.startswith(str(path)), msg
    return msg


def test_a_good_config_file_has_no_problem(repo_root):
    for name in ("config/demo.yaml", "config/config.yaml"):
        assert configfiles.problem(repo_root / name) is None


def test_missing_file_and_folder(tmp_path):
    msg = problem(tmp_path, "nope.yaml", None)
    assert "config file not found" in msg and "./run.sh --configfile config/demo.yaml" in msg
    (tmp_path / "dir.yaml").mkdir()
    assert "is a folder, not a config file" in problem(tmp_path, "dir.yaml", None)


# a broken file -> where the message puts the error, what it says, and the line it shows
YAML_ERRORS = {
    "unclosed bracket": ("study: x\ndatasets:\n  a: [b, c\n", "line 3, column 6", "flow sequence", "  a: [b, c"),
    "tab": ("study: x\ndatasets:\n\tfoo: 1\n", "line 3, column 1", "(a tab: YAML indents with spaces only)", "→foo: 1"),
    "unclosed quote": ('study: "x\ndatasets: 1\n', "line 1, column 8", "quoted scalar", 'study: "x'),
    "indented key": ("a: 1\n b: 2\n", "line 2, column 3", "mapping values are not allowed here", " b: 2"),
}


@pytest.mark.parametrize("case", list(YAML_ERRORS))
def test_yaml_syntax_error_names_the_line_and_shows_it(tmp_path, case):
    text, where, what, shown = YAML_ERRORS[case]
    msg = problem(tmp_path, "bad.yaml", text)
    assert f"bad.yaml, {where}: not valid YAML" in msg and what in msg, msg
    assert f"\n    {shown}\n" in msg and "Fix the file there" in msg, msg


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "is empty: a config file needs the keys datasets, genesets, target_pathway and annotation"),
        ("# nothing yet\n\n", "is empty (only comments)"),
        ("- datasets\n- genesets\n", "the top level is a list, not `key: value` pairs"),
        ("just text\n", "the top level is a single value ('just text')"),
    ],
)
def test_empty_or_not_a_mapping(tmp_path, text, expected):
    assert expected in problem(tmp_path, "c.yaml", text)


def test_configfile_arguments_are_found_as_snakemake_reads_them():
    args = ["-n", "all", "--configfile", "a.yaml", "b.yaml", "--cores", "2", "--configfile=c.yaml"]
    assert configfiles.configfile_args(args) == ["a.yaml", "b.yaml", "c.yaml"]
    assert configfiles.configfile_args(["--configfiles", "d.json", "-n"]) == ["d.json"]
    assert configfiles.configfile_args(["--report", "r.html"]) == []


def test_run_sh_stops_with_the_message_before_snakemake(tmp_path):
    (tmp_path / "empty.yaml").write_text("")
    proc = subprocess.run(
        [str(REPO / "run.sh"), "-n", "--configfile", str(tmp_path / "nope.yaml"), str(tmp_path / "empty.yaml")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert f"Error: {tmp_path / 'nope.yaml'}: config file not found" in out, out
    assert f"Error: {tmp_path / 'empty.yaml'} is empty" in out, out
    assert "Traceback" not in out and "Snakefile" not in out  # Snakemake did not start


@pytest.mark.e2e
def test_a_broken_default_config_is_named_with_its_line(snakemake_run):
    """Without --configfile the Snakefile reads config/config.yaml (of the working directory): checked the same way."""
    cfg = snakemake_run.workdir / "config" / "config.yaml"
    cfg.parent.mkdir()
    cfg.write_text("study: x\ndatasets:\n  a: [b\n")
    rc, out = snakemake_run(None, "-n")
    assert rc != 0, out
    assert "config/config.yaml, line 3, column 6: not valid YAML" in out and "    a: [b" in out, out
    assert "Traceback (most recent call last)" not in out
    assert not (snakemake_run.workdir / "results").exists()
