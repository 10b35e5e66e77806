"""mgsurv.files.stacking: per-endpoint tables stacked as text, or by pandas when columns differ."""

from pathlib import Path

import pandas as pd

from mgsurv.files.stacking import stack_tsv
from mgsurv.files.tables import read_tsv, write_tsv


def test_parts_with_one_header_are_copied_digit_for_digit(tmp_path: Path) -> None:
    pfs, os_ = tmp_path / "pfs.tsv", tmp_path / "os.tsv"
    # 0.00127119398472691 does not survive pandas' float parser at 15 digits unchanged
    pfs.write_text("endpoint\tp\tn\npfs\t0.00127119398472691\t12\n", encoding="utf-8")
    os_.write_text("endpoint\tp\tn\nos\tNA\t7", encoding="utf-8")  # no final newline
    stack_tsv([pfs, os_], tmp_path / "out" / "stacked.tsv")
    assert (tmp_path / "out" / "stacked.tsv").read_text(encoding="utf-8") == (
        "endpoint\tp\tn\npfs\t0.00127119398472691\t12\nos\tNA\t7\n"
    )
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_parts_with_different_columns_are_aligned_by_name(tmp_path: Path) -> None:
    pfs, os_ = tmp_path / "pfs.tsv", tmp_path / "os.tsv"
    write_tsv(pd.DataFrame({"endpoint": ["pfs"], "p": [0.5]}), pfs)
    write_tsv(pd.DataFrame({"endpoint": ["os"], "note": ["no events"], "p": [0.25]}), os_)
    stack_tsv([pfs, os_], tmp_path / "stacked.tsv")
    stacked = read_tsv(tmp_path / "stacked.tsv")
    assert stacked.columns.tolist() == ["endpoint", "p", "note"]
    assert stacked["endpoint"].tolist() == ["pfs", "os"]
    assert stacked["p"].tolist() == [0.5, 0.25]
    assert stacked["note"].isna().tolist() == [True, False]


def test_a_single_part_is_copied_whole(tmp_path: Path) -> None:
    only = tmp_path / "only.tsv"
    only.write_text("a\tb\n1\t2\n", encoding="utf-8")
    stack_tsv([only], tmp_path / "stacked.tsv")
    assert (tmp_path / "stacked.tsv").read_text(encoding="utf-8") == "a\tb\n1\t2\n"
