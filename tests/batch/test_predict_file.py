"""landmark.predict_file on real files: formats, chunking, signatures, bad rows, clean failures."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import landmark
from landmark import batch
from landmark.errors import InvalidInput, NotFound, SignatureError

from ..churn import COLUMNS, frame
from .conftest import read, write

FORMATS = [".csv", ".parquet", ".jsonl"]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("src", FORMATS)
@pytest.mark.parametrize("dst", FORMATS)
def test_every_format_both_ways(
    tmp_path: Path, model_dir: Path, pipe: Any, rows: Any, src: str, dst: str
) -> None:
    infile = write(rows, tmp_path / f"in{src}")
    outfile = tmp_path / f"out{dst}"
    report = landmark.predict_file(model_dir, infile, outfile, chunk_rows=25)
    assert (report.rows_read, report.rows_written, report.rows_skipped) == (60, 60, 0)
    assert report.output == outfile and report.method == "predict" and report.seconds > 0
    got = read(outfile)
    assert list(got.columns) == ["id", *COLUMNS, "prediction"]
    assert got["id"].tolist() == rows["id"].tolist()
    np.testing.assert_allclose(got[COLUMNS].to_numpy(float), rows[COLUMNS].to_numpy(float))
    assert got["prediction"].tolist() == pipe.predict(rows[COLUMNS]).tolist()
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("chunk_rows", [1, 7, 60, 1000])
@pytest.mark.parametrize("src", FORMATS)
def test_chunk_boundaries_change_nothing(
    tmp_path: Path, model: Any, pipe: Any, rows: Any, chunk_rows: int, src: str
) -> None:
    infile = write(rows, tmp_path / f"in{src}")
    out = tmp_path / "out.parquet"
    report = landmark.predict_file(
        model, infile, out, method="predict_proba", chunk_rows=chunk_rows
    )
    assert report.rows_written == 60
    got = pd.read_parquet(out)
    assert list(got.columns) == ["id", *COLUMNS, "proba_0", "proba_1"]
    expected = pipe.predict_proba(rows[COLUMNS])  # to the last bits but for BLAS's sums
    np.testing.assert_allclose(got[["proba_0", "proba_1"]].to_numpy(), expected, rtol=1e-12)


def test_exact_values_survive_csv_and_jsonl(tmp_path: Path, model: Any, rows: Any) -> None:
    for ext in (".csv", ".jsonl"):
        out = tmp_path / f"out{ext}"
        landmark.predict_file(model, write(rows, tmp_path / "in.parquet"), out)
        assert read(out)["charges"].tolist() == rows["charges"].tolist()  # every digit


def test_class_labels_name_the_columns(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    x = frame(90)
    y = np.array(["low", "mid", "high"] * 30)
    path = tmp_path / "labels"
    landmark.save_model(LogisticRegression(max_iter=500).fit(x, y), path, sample_input=x)
    out = tmp_path / "out.csv"
    landmark.predict_file(path, write(x, tmp_path / "in.csv"), out, method="predict_proba")
    assert list(read(out).columns)[-3:] == ["proba_high", "proba_low", "proba_mid"]
    landmark.predict_file(path, tmp_path / "in.csv", out, method="decision_function")
    assert list(read(out).columns)[-3:] == [
        "decision_function_high",
        "decision_function_low",
        "decision_function_mid",
    ]
    landmark.predict_file(path, tmp_path / "in.csv", out)
    assert set(read(out)["prediction"]) <= {"low", "mid", "high"}


def test_arrays_without_classes_and_dataframe_answers(tmp_path: Path) -> None:
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = frame(80)
    infile = write(x, tmp_path / "in.csv")
    plain = tmp_path / "pca"
    landmark.save_model(make_pipeline(StandardScaler(), PCA(2)).fit(x), plain, sample_input=x)
    out = tmp_path / "out.csv"
    landmark.predict_file(plain, infile, out, method="transform")
    assert list(read(out).columns) == [*COLUMNS, "transform_0", "transform_1"]

    framed = tmp_path / "pca-pandas"
    pipe = make_pipeline(StandardScaler(), PCA(2)).set_output(transform="pandas").fit(x)
    landmark.save_model(pipe, framed, sample_input=x)
    landmark.predict_file(framed, infile, out, method="transform")
    got = read(out)
    assert list(got.columns) == [*COLUMNS, "pca0", "pca1"]
    np.testing.assert_allclose(got[["pca0", "pca1"]].to_numpy(), pipe.transform(x).to_numpy())


def test_parquet_is_read_with_the_signatures_dtypes(tmp_path: Path, model: Any, pipe: Any) -> None:
    x = frame(30)
    narrow = x.astype({"tenure": "int32", "calls": "int16", "charges": "float32"})
    out = tmp_path / "out.csv"
    landmark.predict_file(model, write(narrow, tmp_path / "in.parquet"), out)
    wide = narrow.astype({"tenure": "int64", "calls": "int64", "charges": "float64"})
    assert read(out)["prediction"].tolist() == pipe.predict(wide).tolist()


def test_text_columns_stay_text(tmp_path: Path) -> None:
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    x = frame(60)
    x["plan"] = ["007", "010", "basic"] * 20  # digits that a CSV reader would make numbers
    y = (x["plan"] == "010").astype("int64")
    pipe = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["plan"]), remainder="passthrough"),
        LogisticRegression(),
    ).fit(x, y)
    path = tmp_path / "plans"
    landmark.save_model(pipe, path, sample_input=x)
    for ext in (".csv", ".jsonl"):
        out = tmp_path / f"out{ext}"
        landmark.predict_file(path, write(x, tmp_path / f"in{ext}"), out, chunk_rows=13)
        assert read(out)["prediction"].tolist() == pipe.predict(x).tolist()


def test_missing_columns_fail_before_anything_is_written(tmp_path: Path, model: Any) -> None:
    infile = write(frame(10).drop(columns=["age", "calls"]), tmp_path / "in.csv")
    with pytest.raises(SignatureError) as err:
        landmark.predict_file(model, infile, tmp_path / "out.csv")
    assert str(err.value) == (
        f"{infile}: missing columns 'age', 'calls' "
        "(the model's predict takes 'tenure', 'charges', 'age', 'calls')"
    )
    assert err.value.exit_code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def _bad_csv(path: Path, n: int = 40) -> Path:
    """``n`` rows; row 3 has a word for tenure, row 5 no charges, row 8 a fraction of a call."""
    lines = frame(n).to_csv(index=False).splitlines()
    for row, column, value in ((3, 0, "abc"), (5, 1, ""), (8, 3, "2.5")):
        cells = lines[row].split(",")
        cells[column] = value
        lines[row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_bad_row_fails_with_its_number(tmp_path: Path, model: Any) -> None:
    infile = _bad_csv(tmp_path / "in.csv")
    out = tmp_path / "out.csv"
    with pytest.raises(SignatureError, match=r"row 3: column 'tenure': 'abc' is not a valid int64"):
        landmark.predict_file(model, infile, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_a_bad_row_in_a_later_chunk_removes_what_was_written(tmp_path: Path, model: Any) -> None:
    infile = _bad_csv(tmp_path / "in.csv")
    lines = infile.read_text().splitlines()
    lines[3] = frame(1).to_csv(index=False, header=False).strip()  # row 3 mended
    infile.write_text("\n".join(lines) + "\n")
    with pytest.raises(SignatureError, match=r"in.csv: row 5: column 'charges' has a missing"):
        landmark.predict_file(model, infile, tmp_path / "out.parquet", chunk_rows=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_skip_leaves_bad_rows_out_and_counts_them(tmp_path: Path, model: Any, pipe: Any) -> None:
    infile = _bad_csv(tmp_path / "in.csv")
    out = tmp_path / "out.jsonl"
    report = landmark.predict_file(model, infile, out, on_error="skip", chunk_rows=4)
    assert (report.rows_read, report.rows_written, report.rows_skipped) == (40, 37, 3)
    assert [str(p) for p in report.skipped] == [
        "row 3: column 'tenure': 'abc' is not a valid int64",
        "row 5: column 'charges' has a missing value; the model's sample had none there",
        "row 8: column 'calls': 2.5 is not a valid int64",  # a float column in its chunk
    ]
    kept = frame(40).drop(index=[2, 4, 7])
    got = read(out)
    assert got["age"].tolist() == kept["age"].tolist()
    assert got["prediction"].tolist() == pipe.predict(kept).tolist()


def test_jsonl_lines_that_are_not_objects(tmp_path: Path, model: Any) -> None:
    good = '{"tenure": 1, "charges": 2.5, "age": 30, "calls": 4}'
    infile = tmp_path / "in.jsonl"
    infile.write_text(
        "\n".join([good, "[1, 2]", "", good, '{"tenure": 1, "charges": "x"', "7", good]) + "\n"
    )
    with pytest.raises(SignatureError, match=r"row 2: line 2 is an array, not a JSON object"):
        landmark.predict_file(model, infile, tmp_path / "out.csv")
    report = landmark.predict_file(model, infile, tmp_path / "out.csv", on_error="skip")
    assert (report.rows_read, report.rows_written, report.rows_skipped) == (6, 3, 3)
    assert [p.row for p in report.skipped] == [2, 4, 5]
    assert "line 5 is not valid JSON" in report.skipped[1].problem
    assert report.skipped[2].problem == "line 6 is a int, not a JSON object"


def test_jsonl_missing_keys_are_missing_values(tmp_path: Path, model: Any) -> None:
    infile = tmp_path / "in.jsonl"
    infile.write_text('{"tenure": 1, "charges": 2.5, "age": 30, "calls": 4}\n{"tenure": 2}\n')
    with pytest.raises(SignatureError, match=r"row 2: column 'charges' has a missing value"):
        landmark.predict_file(model, infile, tmp_path / "out.csv")


def test_every_row_skipped_writes_nothing(tmp_path: Path, model: Any) -> None:
    infile = tmp_path / "in.csv"
    infile.write_text("tenure,charges,age,calls\nx,1,2,3\ny,1,2,3\n")
    with pytest.raises(InvalidInput, match=r"every row of .* was skipped \(2\); row 1: "):
        landmark.predict_file(model, infile, tmp_path / "out.csv", on_error="skip")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_a_failure_keeps_the_old_output(tmp_path: Path, model: Any) -> None:
    out = tmp_path / "out.csv"
    out.write_text("old\n")
    with pytest.raises(SignatureError):
        landmark.predict_file(model, _bad_csv(tmp_path / "in.csv"), out, chunk_rows=1)
    assert out.read_text() == "old\n"
    assert _leftovers(tmp_path) == []


def test_an_interrupt_removes_the_temp_file(tmp_path: Path, model: Any) -> None:
    from landmark.progress import Progress

    class Interrupting(Progress):
        def advance(self, objects: int = 1, nbytes: int = 0) -> None:
            raise KeyboardInterrupt

    infile = write(frame(20), tmp_path / "in.csv")
    with pytest.raises(KeyboardInterrupt):
        landmark.predict_file(model, infile, tmp_path / "o.parquet", progress=Interrupting())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_progress_events(tmp_path: Path, model: Any) -> None:
    from landmark.progress import Progress, ProgressEvent

    events: list[ProgressEvent] = []
    infile = write(frame(50), tmp_path / "in.parquet")
    landmark.predict_file(
        model, infile, tmp_path / "o.csv", chunk_rows=20, progress=Progress.calling(events.append)
    )
    assert [(e.phase, e.done, e.total) for e in events] == [
        ("predict", 0, 50), ("predict", 20, 50), ("predict", 40, 50), ("predict", 50, 50)
    ]  # fmt: skip
    events.clear()
    infile = write(frame(50), tmp_path / "in.csv")
    landmark.predict_file(
        model, infile, tmp_path / "o.csv", chunk_rows=20, progress=Progress.calling(events.append)
    )
    assert events[0].bytes_total == infile.stat().st_size
    assert events[-1].done == 50 and events[-1].bytes_done == infile.stat().st_size


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("in.parquet", b"PAR1 not really", r"in.parquet is not a Parquet file \("),
        ("in.csv", b"", r"in.csv is empty"),
        ("in.csv", b"tenure,charges,age,calls\n", r"in.csv has no data rows"),
        ("in.csv", b"tenure,charges,age,calls\n1,2,3,4\n1,2,3,4,5\n", r"not a valid CSV file "
         r"\(Expected 4 fields in line 3, saw 5\)"),
        ("in.csv", b"tenure,charges\n\xff\xfe,1\n", r"in.csv is not UTF-8 text"),
        ("in.jsonl", b"\n\n", r"in.jsonl has no data rows"),
    ],
)  # fmt: skip
def test_crafted_files_are_one_line_errors(
    tmp_path: Path, model: Any, name: str, content: bytes, message: str
) -> None:
    infile = tmp_path / name
    infile.write_bytes(content)
    with pytest.raises(InvalidInput, match=message) as err:
        landmark.predict_file(model, infile, tmp_path / "out.csv")
    assert "\n" not in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_a_huge_field_is_refused_without_reading_it(
    tmp_path: Path, model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch, "MAX_LINE_BYTES", 1 << 20)
    for name, line in (
        ("in.csv", "1,2,3," + "9" * (3 << 20)),
        ("in.jsonl", '{"a": "' + "x" * (3 << 20) + '"}'),
    ):
        infile = tmp_path / name
        infile.write_text(("tenure,charges,age,calls\n" if name == "in.csv" else "") + line + "\n")
        with pytest.raises(InvalidInput, match=r"longer than 1 MiB"):
            landmark.predict_file(model, infile, tmp_path / "out.csv")
    assert _leftovers(tmp_path) == [] and not (tmp_path / "out.csv").exists()


def test_paths_and_options_are_checked_first(tmp_path: Path, model_dir: Path) -> None:
    infile = write(frame(3), tmp_path / "in.csv")
    cases: list[tuple[Any, type[Exception], str]] = [
        (dict(output=tmp_path / "out.txt"), InvalidInput, r"'\.txt' is not a known format"),
        (dict(input=tmp_path / "in"), InvalidInput, r"input .*in: no extension is not a known"),
        (dict(output=infile), InvalidInput, r"is the input file"),
        (dict(output=tmp_path / "no" / "out.csv"), NotFound, r"output folder .*no does not exist"),
        (dict(output=tmp_path), InvalidInput, r"is not a known format"),
        (dict(input=tmp_path / "none.csv"), NotFound, r"none.csv: no such file"),
        (dict(chunk_rows=0), InvalidInput, r"chunk_rows must be"),
        (dict(on_error="ignore"), InvalidInput, r"on_error must be 'fail' or 'skip'"),
        (dict(method="transform"), NotFound, r"the model has no method 'transform'"),
        (dict(ref="churn"), NotFound, r"churn is not a model directory"),
    ]
    for change, kind, message in cases:
        args: dict[str, Any] = dict(ref=model_dir, input=infile, output=tmp_path / "out.csv")
        args.update(change)
        ref = args.pop("ref")
        with pytest.raises(kind, match=message):
            landmark.predict_file(ref, **args)
    os.link(infile, tmp_path / "same.csv")
    with pytest.raises(InvalidInput, match="is the input file"):
        landmark.predict_file(model_dir, infile, tmp_path / "same.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "same.csv"]


def test_an_output_column_the_input_has(tmp_path: Path, model: Any) -> None:
    df = frame(5)
    df["prediction"] = 1
    with pytest.raises(InvalidInput, match=r"already has a column 'prediction'"):
        landmark.predict_file(model, write(df, tmp_path / "in.csv"), tmp_path / "out.csv")


def test_mixed_and_nested_json_values(tmp_path: Path, model: Any) -> None:
    good = '"tenure": 1, "charges": 2.5, "age": 30, "calls": 4'
    infile = tmp_path / "in.jsonl"
    infile.write_text(
        f'{{{good}, "note": 7}}\n{{{good}, "note": "seven"}}\n{{{good}, "note": [1, {{"a": 2}}]}}\n'
        + "[" * 100_000
        + "\n"
    )
    for ext in (".parquet", ".csv", ".jsonl"):
        out = tmp_path / f"out{ext}"
        report = landmark.predict_file(model, infile, out, on_error="skip")
        assert (report.rows_written, report.rows_skipped) == (3, 1)
        assert report.skipped[0].problem == "line 4 is not valid JSON (nested too deeply)"
        assert len(read(out)) == 3
    assert pd.read_parquet(tmp_path / "out.parquet")["note"].tolist() == [
        "7", "seven", '[1, {"a": 2}]'
    ]  # fmt: skip


def test_a_write_that_fails_behind_the_reader_removes_the_temp_file(
    tmp_path: Path, model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Output is written in a thread while the next chunk is scored: its failure is raised in
    # the caller, after the chunk that failed and before any later one is written.
    written: list[int] = []
    real = batch._Writer.write

    def failing(self: Any, out: Any) -> None:
        if written:
            raise OSError(28, "No space left on device")
        written.append(len(out))
        real(self, out)

    monkeypatch.setattr(batch._Writer, "write", failing)
    out = tmp_path / "out.csv"
    out.write_text("old\n")
    infile = write(frame(50), tmp_path / "in.csv")
    with pytest.raises(OSError, match="No space"):
        landmark.predict_file(model, infile, out, chunk_rows=10)
    assert written == [10]
    assert out.read_text() == "old\n"
    assert _leftovers(tmp_path) == []


def test_scoring_a_plain_pipeline_never_imports_skops_io(tmp_path: Path, model_dir: Path) -> None:
    # skops.io builds its trust lists by importing all of scikit-learn (a second or more);
    # a batch run reads a file of default-trusted types without it, and leaves the setting
    # as it found it for later loads in the same process.
    import subprocess
    import sys

    infile = write(frame(30), tmp_path / "in.csv")
    script = (
        "import sys, landmark\n"
        "from landmark.models.adapters import sklearn as adapter\n"
        f"landmark.predict_file({str(model_dir)!r}, {str(infile)!r}, {str(tmp_path / 'o.csv')!r})\n"
        "print('skops.io' in sys.modules, adapter._READ_TRUSTED)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split() == ["False", "False"]
    assert len(read(tmp_path / "o.csv")) == 30
