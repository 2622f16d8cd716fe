"""Random-expression studies: same bytes for the same seed, resume, refusals, flat memory by design."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from diffkit.report.random_section import study_section
from diffkit.report.sections import html_section, markdown_section
from diffkit.studies import random as study
from diffkit.studies.random import (
    MANIFEST,
    SUMMARY_COLUMNS,
    StudyMismatchError,
    chunk_frames,
    histograms,
    read_manifest,
    run_study,
    summarize,
)

# Small but complete: one swept rule over a few steps, a step-picking backend, both exact ones.
SMALL: dict[str, Any] = {
    "chunk": 3,
    "backends": ("fd-richardson", "reverse", "symbolic"),
    "methods": ("central",),
    "steps": tuple(float(h) for h in np.logspace(-10, -2, 5)),
    "depth": (1, 3),
}


def _chunk_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("chunk-*.csv"))}


class SweepSpy:
    """Wraps the study's sweep and records which functions each call received."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail_on_call: int | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail_on_call = fail_on_call
        self.real = study.sweep
        monkeypatch.setattr(study, "sweep", self)

    def __call__(self, functions: list[Any], **options: Any) -> pd.DataFrame:
        self.calls.append([f.name for f in functions])
        if self.fail_on_call is not None and len(self.calls) == self.fail_on_call:
            raise KeyboardInterrupt  # an interrupted run
        return self.real(functions, **options)


def test_same_seed_writes_the_same_chunks_byte_for_byte(tmp_path: Path) -> None:
    run_study(tmp_path / "a", 6, 4, **SMALL)
    run_study(tmp_path / "b", 6, 4, jobs=2, **SMALL)
    a, b = _chunk_bytes(tmp_path / "a"), _chunk_bytes(tmp_path / "b")
    assert list(a) == ["chunk-00000.csv", "chunk-00001.csv"]
    assert a == b
    chunks_a = read_manifest(tmp_path / "a")["chunks"]
    chunks_b = read_manifest(tmp_path / "b")["chunks"]
    assert [c["sha256"] for c in chunks_a.values()] == [c["sha256"] for c in chunks_b.values()]


def test_chunks_hold_one_summary_row_per_function_point_dtype_entry(tmp_path: Path) -> None:
    run_study(tmp_path, 3, 0, **SMALL)
    (frame,) = chunk_frames(tmp_path)
    assert list(frame.columns) == SUMMARY_COLUMNS
    entries = {"fd-central", "fd-richardson", "reverse", "symbolic"}
    assert set(frame["entry"]) == entries
    assert len(frame) == 3 * 2 * len(entries)  # functions x points x entries
    assert not frame.duplicated(["function", "point", "dtype", "entry"]).any()
    assert set(frame["function"]) == {"rand-0-0", "rand-0-1", "rand-0-2"}
    swept = frame[frame["entry"] == "fd-central"]
    assert swept["h"].isin(SMALL["steps"]).all()  # the best step is one of the swept steps
    assert (swept["ok_steps"] <= len(SMALL["steps"])).all()
    exact = frame[frame["entry"] == "reverse"]
    assert (exact["rel_err"] < 1e-10).all()
    assert exact["digits_ref"].dropna().ge(10).all()  # reverse agrees with symbolic


def test_resume_computes_only_the_missing_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = SweepSpy(monkeypatch)
    run_study(tmp_path, 6, 1, **SMALL)
    before = _chunk_bytes(tmp_path)
    run_study(tmp_path, 12, 1, **SMALL)
    assert spy.calls == [
        ["rand-1-0", "rand-1-1", "rand-1-2"],
        ["rand-1-3", "rand-1-4", "rand-1-5"],
        ["rand-1-6", "rand-1-7", "rand-1-8"],
        ["rand-1-9", "rand-1-10", "rand-1-11"],
    ]
    after = _chunk_bytes(tmp_path)
    assert {k: after[k] for k in before} == before
    assert len(after) == 4
    run_study(tmp_path, 12, 1, **SMALL)  # complete: nothing to do
    assert len(spy.calls) == 4


def test_an_interrupted_run_leaves_complete_chunks_only_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = SweepSpy(monkeypatch, fail_on_call=2)
    with pytest.raises(KeyboardInterrupt):
        run_study(tmp_path, 9, 2, **SMALL)
    assert sorted(read_manifest(tmp_path)["chunks"]) == ["0"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chunk-00000.csv", MANIFEST]
    spy.fail_on_call = None
    run_study(tmp_path, 9, 2, **SMALL)
    assert [names[0] for names in spy.calls] == ["rand-2-0", "rand-2-3", "rand-2-3", "rand-2-6"]
    assert sorted(read_manifest(tmp_path)["chunks"]) == ["0", "1", "2"]


def test_a_half_written_or_unlisted_chunk_is_redone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_study(tmp_path, 9, 3, **SMALL)
    good = _chunk_bytes(tmp_path)
    # chunk 1 cut short (its manifest entry no longer matches), chunk 2 written but unlisted
    path = tmp_path / "chunk-00001.csv"
    path.write_bytes(good["chunk-00001.csv"][:200])
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    del manifest["chunks"]["2"]
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    spy = SweepSpy(monkeypatch)
    run_study(tmp_path, 9, 3, **SMALL)
    assert [names[0] for names in spy.calls] == ["rand-3-3", "rand-3-6"]
    assert _chunk_bytes(tmp_path) == good


def test_a_grown_count_redoes_a_partial_last_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = SweepSpy(monkeypatch)
    run_study(tmp_path, 4, 5, **SMALL)
    assert read_manifest(tmp_path)["chunks"]["1"]["functions"] == [3, 4]
    run_study(tmp_path, 6, 5, **SMALL)
    assert spy.calls[-1] == ["rand-5-3", "rand-5-4", "rand-5-5"]
    assert summarize(tmp_path)["functions"].max() == 6


def test_other_parameters_in_the_same_folder_are_refused(tmp_path: Path) -> None:
    run_study(tmp_path, 3, 6, **SMALL)
    with pytest.raises(StudyMismatchError, match=r"seed differ.*new folder"):
        run_study(tmp_path, 3, 7, **SMALL)
    with pytest.raises(StudyMismatchError, match="backends, chunk differ"):
        run_study(tmp_path, 3, 6, **{**SMALL, "chunk": 4, "backends": ("reverse",)})


def test_a_folder_of_other_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(StudyMismatchError, match="holds no study"):
        run_study(tmp_path, 3, 0, **SMALL)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown methods"):
        run_study(tmp_path, 3, 0, methods=("centre",))
    with pytest.raises(ValueError, match="chunk must be"):
        run_study(tmp_path, 3, 0, chunk=0)
    with pytest.raises(ValueError, match="count must be"):
        run_study(tmp_path, -1, 0)


def test_memory_stays_flat_by_design(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each sweep sees one chunk, and each chunk's summary is built from that chunk alone."""
    spy = SweepSpy(monkeypatch)
    sizes: list[int] = []
    real = study.summarize_chunk

    def spy_summary(frame: pd.DataFrame, expressions: Any) -> pd.DataFrame:
        sizes.append(frame["function"].nunique())
        return real(frame, expressions)

    monkeypatch.setattr(study, "summarize_chunk", spy_summary)
    run_study(tmp_path, 7, 8, **SMALL)
    assert [len(names) for names in spy.calls] == [3, 3, 1]
    assert sizes == [3, 3, 1]


def test_summary_histograms_and_section(tmp_path: Path) -> None:
    run_study(tmp_path, 6, 9, **SMALL)
    summary = summarize(tmp_path)
    assert set(summary["entry"]) == {"fd-central", "fd-richardson", "reverse", "symbolic"}
    assert (summary["rows"] == 12).all()
    assert (summary["functions"] == 6).all()
    shares = summary[[c for c in summary.columns if c.startswith("share_")]]
    assert np.allclose(shares.sum(axis=1), 1.0)
    reverse = summary.set_index("entry").loc["reverse"]
    assert reverse["err_q50"] < 1e-12
    counts = histograms(tmp_path)
    errors = counts[(counts["kind"] == "error") & (counts["entry"] == "reverse")]
    assert errors["count"].sum() == reverse["scored"]
    section = study_section(tmp_path)
    assert [image.path for image in section.images] == [
        "figures/random-study-error-float64.png",
        "figures/random-study-digits-float64.png",
    ]
    assert all(image.data.startswith(b"\x89PNG") for image in section.images)
    assert sorted(section.files) == [
        "data/random-study-histograms.csv",
        "data/random-study-summary.csv",
    ]
    assert "Random expressions" in "\n".join(markdown_section(section))
    assert "<table>" in html_section(section)


@pytest.mark.parametrize("jobs", [1, 2])
def test_drawing_expressions_runs_under_the_time_limit(tmp_path: Path, jobs: int) -> None:
    """Depth 16 spent minutes in SymPy in the parent, past any --time-limit: now each
    function is drawn as a task, and one that overruns is a "generation" row."""
    start = time.perf_counter()
    run_study(tmp_path, 2, 0, **{**SMALL, "depth": (16, 16)}, time_limit=2.0, jobs=jobs)
    assert time.perf_counter() - start < 60
    (frame,) = chunk_frames(tmp_path)
    lost = frame[frame["entry"] == "generation"]
    assert len(lost) >= 1
    assert set(lost["status"]) == {"timeout"}
    assert lost["excluded"].str.contains("not generated").all()
    summary = summarize(tmp_path)
    assert "generation" in set(summary["entry"])
