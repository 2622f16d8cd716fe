"""The ``diffkit`` command line: exit codes, files written, messages for bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from diffkit import catalog
from diffkit.backends import available
from diffkit.cli import main

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--steps", "9"]  # one step every two decades: enough to exercise every path


def test_list_prints_functions_and_backends(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in catalog.names():
        assert name in out
    for name in available():
        assert name in out
    assert catalog.get("squire_trapp").why in out


def test_report_on_catalog_functions_writes_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--functions", "exp,log", "--out", str(tmp_path)]) == 0
    index = tmp_path / "catalog" / "index.html"
    assert index.is_file()
    assert (tmp_path / "catalog" / "report.md").is_file()
    out = capsys.readouterr().out.splitlines()
    assert out[0] == str(index)
    assert out[1].startswith("2 functions, 3 points,")
    assert "rows not ok" in out[1]
    frame = pd.read_csv(tmp_path / "catalog" / "sweep.csv.gz")
    assert set(frame["function"]) == {"exp", "log"}
    assert set(frame["method"]) >= {
        "forward",
        "central",
        "central4",
        "complex",
        "fd-richardson-auto",
    }


def test_report_on_an_expression_is_named_custom(tmp_path: Path) -> None:
    expr = "exp(x)/sqrt(sin(x)**3+cos(x)**3)"
    argv = ["report", "--expr", expr, "--at", "1.5", "--out", str(tmp_path), *FAST]
    assert main(argv) == 0
    html = (tmp_path / "custom" / "index.html").read_text(encoding="utf-8")
    assert '<img src="figures/' in html  # linked, not embedded (issue 14)
    summary = pd.read_csv(tmp_path / "custom" / "summary.csv")
    assert set(summary["function"]) == {expr}
    # The same function as the catalog's squire_trapp: forward differences reach ~1e-8.
    rows = summary[(summary["method"] == "forward") & (summary["dtype"] == "float64")]
    assert rows["best_err"].iloc[0] < 1e-6
    # The report's precision study adds float32 for the expression: eps 6e-8, so ~2e-4.
    assert set(summary["dtype"]) == {"float32", "float64"}


def test_report_takes_points_of_several_variables_in_groups(tmp_path: Path) -> None:
    argv = ["report", "--expr", "x*y + sin(x)", "--at", "1,2;3,4", "--out", str(tmp_path), *FAST]
    assert main(argv) == 0
    frame = pd.read_csv(tmp_path / "custom" / "sweep.csv.gz")
    assert sorted(frame["point"].unique()) == ["1, 2", "3, 4"]


def test_expression_the_parser_rejects_exits_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["report", "--expr", "__import__('os')", "--at", "1", "--out", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "cannot parse --expr" in err
    assert "Traceback" not in err
    assert not any(tmp_path.iterdir())


def test_unknown_function_exits_2_listing_the_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", "--functions", "exp,no_such_function"]) == 2
    err = capsys.readouterr().err
    assert "no_such_function" in err
    assert "squire_trapp" in err  # the message lists what is available


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sweep", "--backends", "nope"], "no backend named 'nope'"),
        (["sweep", "--functions", "exp", "--dtype", "int32"], "--dtype"),
        (["sweep", "--expr", "x**2"], "--expr needs --at"),
        (["sweep", "--at", "1"], "pass --expr too"),
        (["sweep", "--expr", "x*y", "--at", "1,2,3"], "multiple of 2"),
        (["sweep", "--expr", "x", "--at", "one"], "comma-separated numbers"),
    ],
)
def test_bad_options_exit_2_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_sweep_writes_the_tidy_csv(tmp_path: Path) -> None:
    path = tmp_path / "out" / "sweep.csv"
    argv = [
        "sweep",
        "--functions",
        "exp,seed_abc",
        "--csv",
        str(path),
        *FAST,
        "--dtype",
        "float64,float32",
    ]
    assert main(argv) == 0
    frame = pd.read_csv(path)
    assert set(frame["function"]) == {"exp", "seed_abc"}
    assert set(frame["dtype"]) == {"float64", "float32"}
    grid = frame[frame["method"].isin(["forward", "central", "central4", "complex"])]
    assert grid["h"].nunique() == 9


def test_sweep_without_csv_prints_a_short_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", "--functions", "exp", *FAST, "--backends", ""]) == 0
    out = capsys.readouterr().out
    assert "central4" in out
    assert "best_err" in out
    assert "fd-richardson-auto" not in out


@pytest.mark.parametrize("command", [[], ["report"], ["sweep"], ["list"]])
def test_help_works_for_every_command(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--help"]) == 0
    assert "usage: diffkit" in capsys.readouterr().out


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "report" in capsys.readouterr().out


def test_python_m_diffkit_list_works() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "diffkit", "list"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "rosenbrock100" in result.stdout
    assert "fd-richardson" in result.stdout


def test_report_refuses_to_replace_a_folder_of_other_files(tmp_path, capsys):
    target = tmp_path / "catalog"
    target.mkdir()
    (target / "thesis.tex").write_text("precious")
    code = main(["report", "--functions", "exp", "--out", str(tmp_path), "--steps", "5"])
    assert code == 2
    assert "thesis.tex" in capsys.readouterr().err
    assert (target / "thesis.tex").read_text() == "precious"


def test_study_random_writes_chunks_resumes_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["study", "random", "--count", "4", "--chunk", "2", "--seed", "5", "--jobs", "1"]
    argv += ["--out", str(tmp_path / "s"), "--no-progress"]
    assert main([*argv, "--report"]) == 0
    assert sorted(p.name for p in (tmp_path / "s").glob("chunk-*.csv")) == [
        "chunk-00000.csv",
        "chunk-00001.csv",
    ]
    assert (tmp_path / "s" / "report" / "index.html").is_file()
    first = (tmp_path / "s" / "chunk-00000.csv").read_bytes()
    assert main(argv) == 0  # a second run finds every chunk complete and keeps it
    assert (tmp_path / "s" / "chunk-00000.csv").read_bytes() == first
    assert "reverse" in capsys.readouterr().out
    # Other parameters in the same folder are refused, not mixed in.
    assert main([*argv[:-3], "--depth", "1", "2", "--out", str(tmp_path / "s")]) == 2
