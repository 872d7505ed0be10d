"""Lines written with another separator than the file's (issue 24): one message naming the separator
found, the line(s) and the fix -- not "the count is missing" on a line that shows its numbers, nor "no
`sample` column (found: sample;condition)". The file's name decides its separator (.csv: comma,
anything else: tab); why lines in another one are refused rather than read: docs/bad_input.md."""

from __future__ import annotations

import pytest
from test_bad_input import assert_in, edit_lines, prepare, prepare_error  # noqa: F401  (prepare: a fixture)

from pathverdict.errors import InputError
from pathverdict.tables import read_counts, read_samples


def test_counts_tsv_with_some_comma_separated_lines(tiny, prepare):  # noqa: F811
    def commas(lines):
        for i in (4, 9, 10):
            lines[i] = lines[i].replace("\t", ",")

    lines = edit_lines(tiny.counts_path, commas)
    msg = prepare_error(prepare, tiny)
    assert_in(
        msg,
        str(tiny.counts_path),
        "lines 5, 10, 11 are separated by commas",
        repr(lines[4][:80]),
        "the rest of the file by tabs",
        "a file not named .csv is read as tab-separated",
        "Save the whole table with one separator",
    )
    assert "missing" not in msg


def test_counts_csv_with_a_tab_separated_line(tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text("gene_id,a,b,c,d\nG1,1,2,3,4\nG2\t5\t6\t7\t8\nG3,1,1,1,1\n")
    with pytest.raises(InputError) as info:
        read_counts(path)
    assert_in(str(info.value), str(path), "line 3 is separated by tabs", "a .csv file is read as comma-separated")


def test_counts_whose_header_is_comma_separated(tmp_path):
    path = tmp_path / "counts.tsv"
    path.write_text("gene_id,a,b\nG1,1,2\n")
    with pytest.raises(InputError) as info:
        read_counts(path)
    assert_in(str(info.value), "line 1 is separated by commas ('gene_id,a,b')", "read as tab-separated")


@pytest.mark.parametrize("name", ["samples.tsv", "samples.csv"])
def test_sample_sheet_saved_with_semicolons(tmp_path, name):
    """European Excel saves "CSV" with ';' (the decimal separator being a comma): named as such."""
    path = tmp_path / name
    path.write_text("sample;condition;RIN\nctrl1;Control;7,5\ntrt1;Treated;8,1\n")
    with pytest.raises(InputError) as info:
        read_samples(path)
    msg = str(info.value)
    assert_in(msg, str(path), "line 1 is separated by semicolons ('sample;condition;RIN')", "decimal point")
    assert "no `sample` column" not in msg


def test_sample_sheet_with_one_line_in_another_separator(tiny, prepare):  # noqa: F811
    def semicolons(lines):
        lines[3] = lines[3].replace("\t", ";")

    edit_lines(tiny.samples_path, semicolons)
    msg = prepare_error(prepare, tiny)
    assert_in(msg, str(tiny.samples_path), "line 4 is separated by semicolons", "the rest of the file by tabs")


def test_a_separator_inside_a_field_of_a_well_split_line_is_data(tmp_path):
    path = tmp_path / "samples.tsv"
    path.write_text("sample\tcondition\tnote\ns1\tA\tlane 1; re-run\ns2\tB\tx,y\n")
    assert read_samples(path).loc["s1", "note"] == "lane 1; re-run"
