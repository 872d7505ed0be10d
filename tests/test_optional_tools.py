"""The one mechanism for optional tools (tests/conftest.py): a test marked ``fidelity`` (R packages),
``slurm`` or ``browser`` whose tool is missing is skipped with the reason and the Debian package to
install -- and fails in CI (environment variable CI set), where .ci/run installs every tool."""

import shutil

import conftest
import pytest


class FakeItem:
    """What the hook reads of a test item: its markers."""

    def __init__(self, *marks):
        self.marks = {m.name: m for m in marks}

    def get_closest_marker(self, name):
        return self.marks.get(name)


def _outcome(item, monkeypatch, ci: str | None):
    if ci is None:
        monkeypatch.delenv(conftest.CI_ENV, raising=False)
    else:
        monkeypatch.setenv(conftest.CI_ENV, ci)
    try:
        conftest.pytest_runtest_setup(item)
    except pytest.skip.Exception as exc:
        return "skipped", str(exc)
    except pytest.fail.Exception as exc:
        return "failed", str(exc)
    return "runs", ""


def test_missing_r_package_skips_with_the_debian_package_and_fails_in_ci(monkeypatch):
    item = FakeItem(pytest.mark.fidelity("NoSuchPackageForPathverdict").mark)
    monkeypatch.setattr(conftest.shutil, "which", lambda name: None)  # no Rscript at all
    conftest.r_package_missing.cache_clear()
    try:
        status, text = _outcome(item, monkeypatch, None)
        assert status == "skipped", text
        assert "Rscript is not on PATH" in text and "r-bioc-nosuchpackageforpathverdict" in text, text
        assert "marker `fidelity`" in text
        for ci in ("true", "1"):
            status, text = _outcome(item, monkeypatch, ci)
            assert status == "failed" and "in CI every tool must be installed" in text, text
        for not_ci in ("", "false", "0"):
            assert _outcome(item, monkeypatch, not_ci)[0] == "skipped"
    finally:
        conftest.r_package_missing.cache_clear()


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="needs Rscript to ask it for a package it lacks")
def test_an_r_package_that_r_cannot_load_is_named():
    reason = conftest.r_package_missing("NoSuchPackageForPathverdict")
    assert reason and "the R package NoSuchPackageForPathverdict is not installed" in reason, reason
    assert "apt-get install --no-install-recommends r-bioc-nosuchpackageforpathverdict" in reason


def test_cran_packages_are_named_by_their_debian_package(monkeypatch):
    monkeypatch.setattr(conftest.shutil, "which", lambda name: None)
    conftest.r_package_missing.cache_clear()
    try:
        assert "r-cran-locfit" in conftest.r_package_missing("locfit")
        assert "r-bioc-limma" in conftest.r_package_missing("limma")
    finally:
        conftest.r_package_missing.cache_clear()


def test_fidelity_without_packages_means_deseq2(monkeypatch):
    asked = []
    monkeypatch.setattr(conftest, "r_package_missing", lambda p: asked.append(p) or None)
    assert conftest.missing_tool(FakeItem(pytest.mark.fidelity.mark)) is None
    assert conftest.missing_tool(FakeItem(pytest.mark.fidelity("limma").mark)) is None
    assert asked == ["DESeq2", "limma"]


def test_missing_slurm_and_chromium_skip_with_the_install_command(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    status, text = _outcome(FakeItem(pytest.mark.slurm.mark), monkeypatch, None)
    assert status == "skipped" and "apt-get install slurm-wlm munge" in text and "sbatch" in text, text
    status, text = _outcome(FakeItem(pytest.mark.browser.mark), monkeypatch, None)
    assert status == "skipped" and "apt-get install chromium" in text, text
    assert _outcome(FakeItem(pytest.mark.browser.mark), monkeypatch, "true")[0] == "failed"


def test_tests_without_optional_tools_always_run(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    for marks in [(), (pytest.mark.e2e.mark,), (pytest.mark.shared.mark,)]:
        assert _outcome(FakeItem(*marks), monkeypatch, "true") == ("runs", "")
