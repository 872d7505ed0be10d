"""The Snakemake report of the offline demo, opened in headless Chromium as a reader would.

The report is a JavaScript (React) app with no URL routing: the landing page is read from the
DOM after the scripts ran (``--dump-dom`` with a virtual time budget), and to reach a figure or
the verdict a small script appended to a copy of the report clicks the app's own links (the
category in the menu, then the result's eye button), as a person would. Screenshots are checked
for content (distinct colours, non-white pixels, the app's dark menu); the one of the verdict
page is kept in the test's tmp dir and copied to $PATHVERDICT_ARTIFACTS when that is set.

Needs Debian's Chromium (`apt-get install chromium`; .ci/run installs it); skipped without it, failed
in CI (conftest.py).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import find_chromium
from demo_runs import DATASETS

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.shared]

INSTALL_HINT = "apt-get update && apt-get install -y chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--hide-scrollbars",
]
WINDOW = (1400, 1000)
CATEGORIES = [
    "Verdict",
    "Differential expression",
    "Enrichment",
    "Quality control",
    "Robustness",
    "Samples",
    "Provenance",
]
ARTIFACTS_ENV = "PATHVERDICT_ARTIFACTS"

# Clicks through the report like a reader: ["menu", text] clicks the link with that text (a
# category or subcategory), ["row", text] the "view" (eye) button of the result row with a cell of
# that text. Retries each step until the app has rendered it; marks the body when done.
NAVIGATE = """<script>
(function () {
  const steps = %s;
  function link(text) {
    return Array.from(document.querySelectorAll("a")).find((a) => a.textContent.trim() === text);
  }
  function rowButton(text) {
    const row = Array.from(document.querySelectorAll("tr")).find((tr) =>
      Array.from(tr.querySelectorAll("td")).some((td) => td.textContent.trim() === text));
    return row && row.querySelector("td:last-child a");
  }
  let i = 0, tries = 0;
  function next() {
    if (i >= steps.length || tries > 100) {
      document.body.setAttribute("data-navigation", i >= steps.length ? "done" : "stuck at step " + i);
      setTimeout(measure, 300);
      return;
    }
    const el = steps[i][0] === "menu" ? link(steps[i][1]) : rowButton(steps[i][1]);
    tries += 1;
    if (el) { el.click(); i += 1; tries = 0; }
    setTimeout(next, 100);
  }
  // what a reader sees: the result pane's width, how much a figure is shrunk, where the answer starts
  function measure() {
    const m = {viewport: window.innerWidth};
    const frame = document.querySelector("iframe");
    if (frame) m.iframe = frame.getBoundingClientRect().width;
    const img = Array.from(document.querySelectorAll("img")).find((x) => x.naturalWidth > 300);
    if (img) { m.img_natural = img.naturalWidth; m.img_shown = img.getBoundingClientRect().width; }
    const answer = Array.from(document.querySelectorAll("p, strong")).find((x) =>
      x.textContent.includes("The study's findings are"));
    if (answer) { const r = answer.getBoundingClientRect(); m.answer_top = r.top; m.answer_left = r.left; }
    document.body.setAttribute("data-measure", JSON.stringify(m));
  }
  window.addEventListener("load", () => setTimeout(next, 100));
})();
</script>"""

# Appended to a results page opened on its own at the report pane's width: every element whose
# right edge lies beyond the window (the page would need horizontal scrolling there).
OVERFLOW = """<script>
window.addEventListener("load", () => setTimeout(() => {
  const w = document.documentElement.clientWidth;
  const out = Array.from(document.querySelectorAll("body *")).filter((el) =>
    el.getBoundingClientRect().right > w + 1 && !el.closest("details:not([open])"))
    .map((el) => el.tagName + (el.id ? "#" + el.id : "") + ": " + el.textContent.trim().slice(0, 40));
  document.body.setAttribute("data-overflow", JSON.stringify(
    {width: w, scroll: document.documentElement.scrollWidth, elements: out.slice(0, 10)}));
}, 200));
</script>"""
PAGES = ["verdict.html", "claims.html", "null.html", "provenance.html", "samples.html", "replication.html"]


def chromium() -> str:
    path = find_chromium()  # missing: the test is skipped before it starts, failed in CI (conftest.py)
    if path:
        return path
    pytest.fail(
        f"Chromium is not installed; this test renders the report in headless Chromium. "
        f"Install it with: {INSTALL_HINT}",
        pytrace=False,
    )


CHROMIUM_TRIES = 3  # headless Chromium with --virtual-time-budget now and then never exits (CI 2026-12-07:
CHROMIUM_TIMEOUT = 90  # a run hung 180 s at load 4 on a page rendered in under 20 s otherwise): try again, fresh


def run_chromium(page: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    for attempt in range(1, CHROMIUM_TRIES + 1):
        profile = tmp / f"chromium-profile-{len(list(tmp.glob('chromium-profile-*')))}"  # a fresh one each time
        cmd = [
            chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--virtual-time-budget=15000",
            *args,
            page.as_uri(),
        ]
        try:
            proc = subprocess.run(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=CHROMIUM_TIMEOUT
            )
        except subprocess.TimeoutExpired:
            if attempt == CHROMIUM_TRIES:
                raise
            continue
        assert proc.returncode == 0, f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
        return proc
    raise AssertionError("unreachable")


def page_with_clicks(report: Path, steps: list[list[str]], dest: Path) -> Path:
    html = report.read_text(encoding="utf-8")
    end = html.rindex("</body>")
    dest.write_text(html[:end] + NAVIGATE % json.dumps(steps) + html[end:], encoding="utf-8")
    return dest


def dom_after(report: Path, steps: list[list[str]], tmp: Path, name: str, *args: str) -> str:
    page = page_with_clicks(report, steps, tmp / f"{name}.html") if steps else report
    dom = run_chromium(page, tmp, *args, "--dump-dom").stdout
    (tmp / f"{name}.dom.html").write_text(dom, encoding="utf-8")
    if steps:
        assert 'data-navigation="done"' in dom, f"could not click through {steps} ({tmp / (name + '.dom.html')})"
    return dom


def visible_text(dom: str) -> str:
    body = dom[dom.find('id="app"') :]
    body = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def data_uri(dom: str, tag: str, filename: str) -> bytes:
    m = re.search(rf'<{tag} src="data:[^"]*?filename={re.escape(filename)};base64,([^"]+)"', dom)
    assert m, f"no <{tag}> showing {filename} in the rendered page"
    return base64.b64decode(m.group(1))


def screenshot(report: Path, steps: list[list[str]], tmp: Path, name: str) -> Path:
    page = page_with_clicks(report, steps, tmp / f"{name}.html")
    png = tmp / f"{name}.png"
    run_chromium(page, tmp, f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--screenshot={png}")
    assert png.is_file(), f"Chromium wrote no screenshot {png}"
    return png


def check_not_blank(png: Path):
    img = Image.open(png).convert("RGB")
    assert img.size == WINDOW, img.size
    colours = img.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50, f"{png}: only {len(colours or [])} colours"
    # the report app's menu (dark slate, left) was drawn ...
    grey = np.asarray(img.convert("L"), dtype=float)
    assert grey[300:700, 20:400].mean() < 128, f"{png}: no dark menu on the left: the app did not render"
    # ... and the content pane (right) is not empty
    inked = float((grey[:, 520:] < 200).mean())
    assert inked > 0.02, f"{png}: the content pane is {inked:.1%} inked: blank"
    return len(colours), inked


@pytest.fixture(scope="module")
def report(request) -> Path:
    chromium()  # fail at once, with the install command, before running the demo
    return request.getfixturevalue("demo_run") / "report.html"  # the session's demo run (conftest.demo_run)


def measured(dom: str) -> dict:
    m = re.search(r'data-measure="([^"]*)"', dom)
    assert m, "the page was not measured"
    return json.loads(m.group(1).replace("&quot;", '"'))


def test_landing_page_names_the_study(report, tmp_path):
    text = visible_text(dom_after(report, [], tmp_path, "landing"))
    for expected in ["SIMULATED", "Mineral absorption", *DATASETS, *CATEGORIES]:
        assert expected in text, f"{expected!r} not on the rendered landing page"


def test_landing_page_leads_with_the_answer(report, tmp_path):
    dom = dom_after(
        report, [["menu", "Workflow"]], tmp_path, "landing_answer", f"--window-size={WINDOW[0]},{WINDOW[1]}"
    )
    text = visible_text(dom)
    # the headline answer itself: overall, one line per claim and per dataset -- not "see Verdict";
    # the run's own answer (this run has a small null, so the tissue claim may be inconclusive)
    import pandas as pd

    from pathverdict.judgement import claims

    answer = claims.summarise(
        pd.read_csv(report.parent / "results" / "demo" / "claims.tsv", sep="\t", keep_default_na=False)
    )
    assert f"Is Mineral absorption on top? The study's findings are {answer['study'].upper()}." in text
    for claim in ("cells", "tissue", "metallothioneins"):
        assert re.search(rf"Claim {claim}\s*:\s*{answer[claim]} — ", text), claim
    assert f"Check of the method on the negative control(s): {answer['negative_control']}" in text
    for ds in DATASETS[:3]:
        assert re.search(rf"{ds}: on top \(rank 1 of \d+, p [0-9.e-]+, FDR [0-9.e-]+\)", text), ds
    assert text.index("SIMULATED DATA") < text.index("The study's findings are") < text.index("Methods")
    m = measured(dom)
    # the answer is at the top of the pane, on the first screen (no empty band, nothing cut off above it)
    assert 0 <= m["answer_top"] < 200, m
    # the methods say what pydeseq2 does and what follows R DESeq2 in our own code; sentences are spaced
    assert "builds the design matrix from the formula" in text and "pathverdict.de.rcompat" in text
    assert not re.search(r"\d\.Input checksums", text)


@pytest.mark.parametrize("page", PAGES)
def test_pages_fit_the_report_pane_and_say_simulated(report, tmp_path, page):
    # the width the report gives a results page (its pane, at a 1400 px window)
    dom = dom_after(
        report, [["menu", "Verdict"], ["row", "verdict"]], tmp_path, "pane", f"--window-size={WINDOW[0]},{WINDOW[1]}"
    )
    width = int(measured(dom)["iframe"])
    assert 500 < width < WINDOW[0], width
    source = report.parent / "results" / "demo" / page
    html = source.read_text(encoding="utf-8")
    assert "SIMULATED DATA" in html, f"{page} does not say SIMULATED"
    copy = tmp_path / f"overflow_{page}"
    copy.write_text(html.replace("</body>", OVERFLOW + "</body>"), encoding="utf-8")
    out = run_chromium(copy, tmp_path, f"--window-size={width},1000", "--dump-dom").stdout
    m = re.search(r'data-overflow="([^"]*)"', out)
    assert m, f"{page}: not measured"
    got = json.loads(m.group(1).replace("&quot;", '"'))
    assert got["scroll"] <= got["width"] and not got["elements"], (
        f"{page} needs horizontal scrolling at the report's {width} px: {got}"
    )


def test_every_output_says_simulated(report):
    results = report.parent / "results" / "demo"
    assert (results / "verdict.md").read_text().startswith("**SIMULATED DATA")
    for page in PAGES:
        assert "SIMULATED DATA" in (results / page).read_text(), page


def test_robustness_figure_is_legible_in_the_report(report, tmp_path):
    dom = dom_after(
        report,
        [["menu", "Robustness"], ["menu", "Other"], ["row", "target rank across thresholds, libraries and methods"]],
        tmp_path,
        "robustness",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    )
    m = measured(dom)
    assert m.get("img_natural"), m
    # shown at no less than 2/3 of its size: its 7.5-8.5 pt (150 dpi) type stays >= 10 px on screen
    assert m["img_shown"] >= 0.66 * m["img_natural"], m


def test_verdict_page_and_screenshot(report, tmp_path):
    steps = [["menu", "Verdict"], ["row", "verdict"]]
    dom = dom_after(report, steps, tmp_path, "verdict")
    text = visible_text(dom)
    for item in ["target pathway genes across datasets", "the study's claims", "verdict"]:
        assert item in text, f"{item!r} not listed under Verdict"
    verdict = data_uri(dom, "iframe", "verdict.html").decode("utf-8")
    assert "SIMULATED" in verdict and "Is Mineral absorption on top?" in verdict
    for ds in DATASETS:
        assert ds in verdict, ds
    for ds in DATASETS[:3]:
        assert re.search(rf"{ds} \(KEGG_2021_Human, ora_all\): Mineral absorption is on top", verdict), ds
    # the negative control: not called on top (not on top, or no call at all when it has no DE gene)
    assert re.search(
        r"demo_negative_control \(KEGG_2021_Human, ora_all\): Mineral absorption (is not on top|cannot be judged)",
        verdict,
    )

    png = screenshot(report, steps, tmp_path, "report_verdict")
    colours, inked = check_not_blank(png)
    kept = png
    if os.environ.get(ARTIFACTS_ENV):
        dest = Path(os.environ[ARTIFACTS_ENV])
        dest.mkdir(parents=True, exist_ok=True)
        kept = dest / "report_screenshot.png"
        shutil.copyfile(png, kept)
    print(f"report screenshot ({colours} colours, {inked:.0%} of the content pane inked): {kept}")


def test_figures_are_shown(report, tmp_path):
    heatmap_steps = [["menu", "Verdict"], ["row", "target pathway genes across datasets"]]
    dom = dom_after(report, heatmap_steps, tmp_path, "heatmap")
    heatmap = Image.open(io.BytesIO(data_uri(dom, "img", "target_heatmap.png")))
    assert heatmap.format == "PNG" and min(heatmap.size) > 300, heatmap.size
    check_not_blank(screenshot(report, heatmap_steps, tmp_path, "report_heatmap"))

    dom = dom_after(
        report, [["menu", "Differential expression"], ["menu", "demo_tissue"], ["row", "volcano"]], tmp_path, "volcano"
    )
    text = visible_text(dom)
    assert "MA plot" in text and "volcano" in text and "DE results" in text
    volcano = Image.open(io.BytesIO(data_uri(dom, "img", "volcano.png")))
    assert volcano.format == "PNG" and min(volcano.size) > 300, volcano.size
