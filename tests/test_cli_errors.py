"""Command lines the ``diffkit`` command must refuse in one line, with the README's exit status.

Each test here was a traceback, a wrong exit status or a silent wrong result before:
an output path nothing can be written to (refused before any sweeping), a study
manifest that is not one, a user's function that raises (exit 3), ``--at nan``,
``--functions exp,exp``, ``--seed -1``, a ``--csv`` that differed from run to run,
and ``check`` leaving the current folder on ``sys.path`` for good.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from diffkit.cli import main
from diffkit.commands import sweeps

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["--steps", "5", "--jobs", "1", "--no-progress"]


def one_error_line(err: str) -> str:
    """The single line a usage error (or a user's exception) leaves on stderr."""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("diffkit: error: ")
    return lines[0]


@pytest.fixture
def no_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the command starts sweeping: its refusal must come first."""

    def swept(*args: object, **kwargs: object) -> None:
        raise AssertionError("the command swept before refusing its output path")

    monkeypatch.setattr(sweeps, "run", swept)


# ---------------------------------------------------------------------- report --out, --name


@pytest.mark.usefixtures("no_sweep")
@pytest.mark.parametrize("case", ["dangling link", "parent is a file", "a file", "/proc"])
def test_report_refuses_an_unwritable_out_before_sweeping(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    (tmp_path / "afile").write_text("not a folder")
    if case == "dangling link":
        out = tmp_path / "dangling"
        out.symlink_to(tmp_path / "nowhere" / "x")
    elif case == "parent is a file":
        out = tmp_path / "afile" / "sub"
    elif case == "a file":
        out = tmp_path / "afile"
    else:
        if not Path("/proc/self").exists():
            pytest.skip("no /proc here")
        out = Path("/proc/x")
    code = main(["report", "--functions", "exp", "--out", str(out), "--studies", "none", *QUICK])
    assert code == 2
    line = one_error_line(capsys.readouterr().err)
    assert "Errno" not in line
    assert (tmp_path / "afile").read_text() == "not a folder"


@pytest.mark.usefixtures("no_sweep")
@pytest.mark.parametrize("name", ["../escape", "a/b", "..", "."])
def test_report_name_must_be_one_folder_inside_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    out = tmp_path / "out"
    argv = ["report", "--functions", "exp", "--out", str(out), "--name", name, *QUICK]
    assert main(argv) == 2
    assert "--name" in one_error_line(capsys.readouterr().err)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written, in or out


def test_report_that_cannot_be_written_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import diffkit.report

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device", str(tmp_path / "catalog"))

    monkeypatch.setattr(diffkit.report, "write_report", full_disk)
    argv = ["report", "--functions", "exp", "--backends", "", "--studies", "none", *QUICK]
    assert main([*argv, "--out", str(tmp_path)]) == 2
    assert "No space left on device" in one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    "argv",
    [
        ["sweep", "--functions", "exp", "--csv", "afile/x.csv"],
        ["report", "--functions", "exp", "--out", "out", "--name", "../escape"],
    ],
)
def test_real_command_refuses_in_one_line(tmp_path: Path, argv: list[str]) -> None:
    (tmp_path / "afile").write_text("x")
    result = subprocess.run(
        [sys.executable, "-m", "diffkit", *argv, "--steps", "5", "--jobs", "1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    one_error_line(result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


# ---------------------------------------------------------------------- sweep --csv


@pytest.mark.usefixtures("no_sweep")
@pytest.mark.parametrize("case", ["a folder", "parent is a file", "dangling link", "/proc"])
def test_sweep_refuses_an_unwritable_csv_before_sweeping(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    (tmp_path / "somedir").mkdir()
    (tmp_path / "afile").write_text("x")
    if case == "a folder":
        path = tmp_path / "somedir"
    elif case == "parent is a file":
        path = tmp_path / "afile" / "x.csv"
    elif case == "dangling link":
        path = tmp_path / "link.csv"
        path.symlink_to(tmp_path / "nowhere" / "x.csv")
    else:
        if not Path("/proc/self").exists():
            pytest.skip("no /proc here")
        path = Path("/proc/x.csv")
    assert main(["sweep", "--functions", "exp", "--csv", str(path), *QUICK]) == 2
    assert "--csv" in one_error_line(capsys.readouterr().err)


@pytest.mark.usefixtures("no_sweep")
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes anywhere")
def test_sweep_refuses_a_csv_in_a_read_only_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        argv = ["sweep", "--functions", "exp", "--csv", str(locked / "x.csv"), *QUICK]
        assert main(argv) == 2
    finally:
        locked.chmod(0o700)
    assert "--csv" in one_error_line(capsys.readouterr().err)


def test_sweep_csv_is_byte_identical_between_runs_timings_apart(tmp_path: Path) -> None:
    argv = ["sweep", "--functions", "exp,log", "--backends", "fd-richardson", "--steps", "5"]
    for run in ("one", "two"):
        assert main([*argv, "--jobs", "2", "--csv", str(tmp_path / run / "sweep.csv")]) == 0
    one, two = (tmp_path / run / "sweep.csv" for run in ("one", "two"))
    assert one.read_bytes() == two.read_bytes()
    frame = pd.read_csv(one)
    assert "seconds" not in frame.columns
    timings = pd.read_csv(tmp_path / "one" / "sweep.timings.csv")
    assert "seconds" in timings.columns
    assert len(timings) == len(frame)
    assert list(timings["method"]) == list(frame["method"])


# ---------------------------------------------------------------------- --functions, --at, --seed


def test_functions_named_twice_are_swept_once_in_first_order(tmp_path: Path) -> None:
    argv = ["sweep", "--backends", "", *QUICK]
    assert main([*argv, "--functions", "log,exp,log,exp", "--csv", str(tmp_path / "a.csv")]) == 0
    assert main([*argv, "--functions", "log,exp", "--csv", str(tmp_path / "b.csv")]) == 0
    twice, once = (pd.read_csv(tmp_path / name) for name in ("a.csv", "b.csv"))
    assert len(twice) == len(once)
    assert list(pd.unique(twice["function"])) == ["log", "exp"]
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


@pytest.mark.usefixtures("no_sweep")
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sweep", "--functions", ""], "--functions"),
        (["sweep", "--functions", ","], "--functions"),
        (["sweep", "--functions", "exp,,log"], "empty item"),
        (["report", "--functions", ""], "--functions"),
        (["sweep", "--expr", "x", "--at", "1,,2"], "empty item"),
        (["sweep", "--expr", "x", "--at", "1,2,"], "empty item"),
        (["sweep", "--expr", "x", "--at", "nan"], "finite"),
        (["sweep", "--expr", "x*y", "--at", "1,inf"], "finite"),
        (["sweep", "--functions", "exp", "--seed", "-1"], "--seed"),
        (["report", "--functions", "exp", "--seed", "-1"], "--seed"),
    ],
)
def test_selection_usage_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    extra = ["--out", str(tmp_path)] if argv[0] == "report" else []
    assert main([*argv, *extra, *QUICK]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert message in line
    if "--seed" in argv:
        assert ">= 0" in line


def test_study_seed_below_zero_names_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["study", "random", "--count", "1", "--seed", "-1", "--out", str(tmp_path / "s")]
    assert main([*argv, "--jobs", "1", "--no-progress"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "--seed" in line
    assert ">= 0" in line


@pytest.mark.parametrize(
    "argv",
    [["sweep", "--steps", "many"], ["check", "m:f", "--at"], ["report", "--studies", "some"]],
)
def test_argparse_errors_are_one_line_too(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert main(argv) == 2
    assert f"diffkit {argv[0]} --help" in one_error_line(capsys.readouterr().err)


# ---------------------------------------------------------------------- study manifests


STUDY = ["study", "random", "--count", "1", "--jobs", "1", "--no-progress"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", "a list"),
        ('"chunks"', "a string"),
        ('{"parameters": {}, "chunks": []}', "'chunks' is a list"),
        ('{\n "parameters": {,\n "chunks": {}}', "line 2, column 17"),
        ('{"parameters": {}, "chunks": {"0": {"file": "../x.csv", "sha256": ""}}}', "chunk '0'"),
    ],
)
def test_study_refuses_a_manifest_that_is_not_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(content)
    assert main([*STUDY, "--out", str(tmp_path)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert str(manifest) in line
    assert message in line


def test_study_refuses_its_own_manifest_without_chunks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*STUDY, "--out", str(tmp_path)]) == 0
    manifest = tmp_path / "manifest.json"
    data = json.loads(manifest.read_text())
    del data["chunks"]
    manifest.write_text(json.dumps(data))
    capsys.readouterr()
    assert main([*STUDY, "--out", str(tmp_path)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert str(manifest) in line
    assert "'chunks'" in line


def test_study_refuses_its_report_folder_before_resuming(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["study", "random", "--chunk", "1", "--jobs", "1", "--no-progress", "--report"]
    assert main([*argv, "--count", "1", "--out", str(tmp_path)]) == 0
    (tmp_path / "report" / "notes.txt").write_text("mine")  # the report is no longer diffkit's
    capsys.readouterr()
    assert main([*argv, "--count", "2", "--out", str(tmp_path)]) == 2
    assert "notes.txt" in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "chunk-00001.csv").exists()  # refused before the second chunk


# ---------------------------------------------------------------------- check


USER_MODULE = textwrap.dedent(
    """
    import numpy as np

    def loss(x):
        return np.sum(np.asarray(x) ** 2)

    def grad(x):
        return 2 * np.asarray(x)

    def grad_wrong(x):
        return 3 * np.asarray(x)

    def wavy(x):  # sin and exp: nodes diffkit hands to symengine when it is installed
        return np.sin(x[0]) * np.exp(x[1])

    def divides(x):
        return 1 / 0

    def refuses(x):
        raise ValueError("x must be sorted")

    def grad_fails(x):
        raise RuntimeError("no gradient today")

    def lazy(x):
        import dk_errors_helper  # a sibling, imported at call time

        return dk_errors_helper.wavy(x)
    """
)


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "dk_errors_mod.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "dk_errors_mod"


@pytest.mark.parametrize(
    ("argv", "who", "what"),
    [
        (["FN:divides"], "FUNCTION dk_errors_mod:divides", "ZeroDivisionError: division by zero"),
        (["FN:refuses"], "FUNCTION dk_errors_mod:refuses", "ValueError: x must be sorted"),
        (
            ["FN:loss", "--grad", "FN:grad_fails"],
            "--grad dk_errors_mod:grad_fails",
            "RuntimeError: no gradient today",
        ),
    ],
)
def test_check_exits_3_when_the_users_code_raises(
    user_module: str,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    who: str,
    what: str,
) -> None:
    argv = [a.replace("FN", user_module) for a in argv]
    assert main(["check", *argv, "--at", "0.5,1.5"]) == 3
    line = one_error_line(capsys.readouterr().err)
    assert who in line
    assert what in line
    assert "dk_errors_mod.py, line" in line


def test_check_exits_3_when_the_users_module_raises_on_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "dk_errors_broken.py").write_text("import numpy\nLIMIT = 1 / 0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["check", "dk_errors_broken:f", "--at", "1"]) == 3
    line = one_error_line(capsys.readouterr().err)
    assert "dk_errors_broken" in line
    assert "ZeroDivisionError" in line


def test_check_still_passes_and_mismatches(
    user_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    loss = f"{user_module}:loss"
    assert main(["check", loss, "--grad", f"{user_module}:grad", "--at", "1,2"]) == 0
    assert "passed" in capsys.readouterr().out
    assert main(["check", loss, "--grad", f"{user_module}:grad_wrong", "--at", "1,2"]) == 1
    assert "FAILED" in capsys.readouterr().out


@pytest.mark.parametrize("at", ["nan,1", "1,inf", "-inf", "1,,2", "1,"])
def test_check_refuses_a_point_that_is_not_finite_numbers(
    user_module: str, capsys: pytest.CaptureFixture[str], at: str
) -> None:
    assert main(["check", f"{user_module}:loss", f"--at={at}"]) == 2
    assert "--at" in one_error_line(capsys.readouterr().err)


def test_check_takes_the_current_folder_off_sys_path(tmp_path: Path) -> None:
    """A stray symengine.py beside the user's module must not stand in for the real one.

    The user's module imports its sibling at call time (inside the function): that
    still works, since imports made by the user's own code see the current folder.
    """
    marker = tmp_path / "STRAY_MODULE_RAN"
    (tmp_path / "symengine.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nraise ImportError('a stray symengine.py')\n"
    )
    (tmp_path / "dk_errors_mod.py").write_text(USER_MODULE)
    (tmp_path / "dk_errors_helper.py").write_text(
        "import numpy as np\n\ndef wavy(x):\n    return np.sin(x[0]) * np.exp(x[1])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for function in ("dk_errors_mod:wavy", "dk_errors_mod:lazy"):
        result = subprocess.run(
            # -P: `python -m` must not put the current folder on sys.path itself, as the
            # `diffkit` console script does not
            [sys.executable, "-P", "-m", "diffkit", "check", function, "--at", "0.5,1.5"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "reference: symbolic" in result.stdout
        assert not marker.exists(), f"{function}: diffkit imported the stray symengine.py"


# ---------------------------------------------------------------------- limits


@pytest.mark.usefixtures("no_sweep")
@pytest.mark.parametrize(
    "option",
    [["--memory-limit", "2X"], ["--truth-memory-limit", "-1G"], ["--truth-time-limit", "0"]],
)
def test_limits_that_are_not_sizes_or_seconds_are_refused(
    capsys: pytest.CaptureFixture[str], option: list[str]
) -> None:
    assert main(["sweep", "--expr", "sin(x)", "--at", "1", *QUICK, *option]) == 2
    assert option[0] in one_error_line(capsys.readouterr().err)


def test_the_truth_memory_limit_reaches_the_rows(tmp_path: Path) -> None:
    """x**x**x**x**x at 10 asked for 8.8 GB of ground truth: under --truth-memory-limit
    its rows say the limit stopped it (f overflows anyway), in about a second."""
    csv = tmp_path / "s.csv"
    argv = ["sweep", "--expr", "x**x**x**x**x", "--at", "10", *QUICK, "--backends", ""]
    assert main([*argv, "--truth-memory-limit", "512M", "--csv", str(csv)]) == 0
    assert pd.read_csv(csv)["message"].str.contains("more memory than ground truth").all()


# ---------------------------------------------------------------------- what a newcomer types


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import diffkit

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"diffkit {diffkit.__version__}"


@pytest.mark.usefixtures("no_sweep")
@pytest.mark.parametrize(
    ("option", "typed", "meant"),
    [("--functions", "tanhh", "tanh"), ("--backends", "symbolc", "symbolic")],
)
def test_a_near_miss_is_answered_with_did_you_mean(
    capsys: pytest.CaptureFixture[str], option: str, typed: str, meant: str
) -> None:
    argv = ["sweep", *QUICK, option, typed]
    if option == "--backends":
        argv += ["--expr", "sin(x)", "--at", "1"]
    assert main(argv) == 2
    assert f"did you mean {meant!r}?" in one_error_line(capsys.readouterr().err)


@pytest.mark.usefixtures("no_sweep")
def test_a_missing_peer_names_its_extra(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from diffkit.backends import registry

    monkeypatch.setattr(registry, "_plugins", dict)  # as on a machine without torch or jax
    argv = ["sweep", *QUICK, "--expr", "sin(x)", "--at", "1", "--backends", "torch"]
    assert main(argv) == 2
    assert "pip install 'diffkit[torch]'" in one_error_line(capsys.readouterr().err)


def test_an_unreachable_dask_scheduler_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    executors_dask = pytest.importorskip("diffkit.executors_dask")
    pytest.importorskip("distributed")
    monkeypatch.setattr(executors_dask, "CONNECT_TIMEOUT", 1.0)
    argv = ["sweep", *QUICK, "--expr", "sin(x)", "--at", "1", "--backends", ""]
    assert main([*argv, "--executor", "dask", "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "no Dask scheduler answered at tcp://127.0.0.1:1" in one_error_line(
        capsys.readouterr().err
    )


def test_every_option_of_every_command_says_what_it_does() -> None:
    """``study random``'s options had no help at all."""
    import argparse

    from diffkit.cli import build_parser

    def parsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
        found = [(parser.prog, parser)]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child in action.choices.values():
                    found += parsers(child)
        return found

    silent = [
        f"{prog} {action.option_strings or action.dest}"
        for prog, parser in parsers(build_parser())
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction) and not action.help
    ]
    assert silent == []


@pytest.mark.parametrize("progress", ["--progress", "--no-progress"])
def test_the_phases_between_the_bars_are_named_where_bars_show(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], progress: str
) -> None:
    """~10 s passed between the sweep's bar and the charts' with nothing on the screen."""
    argv = ["report", "--expr", "sin(x)", "--at", "1", "--steps", "3", "--jobs", "1"]
    assert main([*argv, "--backends", "", progress, "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    said = "diffkit: writing the report (verdict, charts, pages) ..." in err
    assert said == (progress == "--progress")


@pytest.mark.usefixtures("no_sweep")
@pytest.mark.parametrize(
    ("option", "text"),
    [
        ("--dtype", ""),
        ("--dtype", "float64,,float32"),
        ("--noise", ""),
        ("--noise", "1e-6,"),
        ("--backends", "fd,,reverse"),
    ],
)
def test_empty_items_in_a_list_option_are_refused(
    capsys: pytest.CaptureFixture[str], option: str, text: str
) -> None:
    """They were dropped in silence (``--dtype ''`` ran float64, ``fd,,reverse`` ran two)."""
    assert main(["sweep", "--expr", "sin(x)", "--at", "1", *QUICK, option, text]) == 2
    assert option in one_error_line(capsys.readouterr().err)
