"""Batch scoring of files: ``landmark predict`` and :func:`predict_file`.

A CSV, Parquet or JSON-lines file is read in chunks of ``chunk_rows`` rows, each chunk is
checked against the method's input signature row by row, scored, and appended to the output,
so memory is bounded by the chunk, not the file. The output is written under a temporary name
in its folder and renamed when complete: a failure leaves neither an output nor a temp file.

    read chunk -> check columns (first chunk) -> per-row checks (bad rows: fail or skip)
               -> method(chunk) -> input columns + output columns -> append

pandas and pyarrow are imported when a file is scored, never by ``import landmark.batch``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput, LandmarkError, NotFound, SignatureError, one_line
from .progress import NO_PROGRESS, Progress

if TYPE_CHECKING:
    from .models.api import LoadedModel
    from .models.signature import Column, Signature

PathLike = str | os.PathLike[str]

FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
DEFAULT_CHUNK_ROWS = 100_000
MAX_LINE_BYTES = 64 << 20  # a longer CSV or JSON line is refused, not read into memory
EXAMPLES = 20  # skipped rows whose problem the report keeps
_TEXT = ("object", "str", "string", "category")


@dataclass(frozen=True)
class RowProblem:
    """A row left out: its 1-based data row number in the input, and why."""

    row: int
    problem: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.problem}"


@dataclass(frozen=True)
class BatchReport:
    """What :func:`predict_file` did. ``skipped`` holds the first rows left out (at most 20);
    ``rows_skipped`` counts them all."""

    input: Path
    output: Path
    method: str
    rows_read: int
    rows_written: int
    rows_skipped: int
    seconds: float
    skipped: tuple[RowProblem, ...] = ()


def file_format(path: Path, what: str) -> str:
    """``csv``, ``parquet`` or ``jsonl``, from the file name's extension."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(FORMATS)
        got = f"'{path.suffix}'" if path.suffix else "no extension"
        raise InvalidInput(f"{what} {path}: {got} is not a known format (use {known})")
    return fmt


def predict_file(
    ref: PathLike | LoadedModel,
    input: PathLike,
    output: PathLike,
    *,
    method: str = "predict",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    on_error: str = "fail",
    repo: PathLike = ".",
    trust: bool = False,
    progress: Progress | None = None,
) -> BatchReport:
    """Score every row of ``input`` with ``method`` of the model ``ref`` (a model directory,
    ``churn#prod``, ``churn@v1.2.0``, ``churn@latest``, or a loaded model) into ``output``.

    The output holds the input's columns followed by the method's: ``prediction`` for a 1-D
    answer, ``proba_<class>`` (``<method>_<i>`` without class labels) for a 2-D one, a
    DataFrame's own columns. ``on_error="skip"`` leaves out rows that do not fit the signature
    (counted in the report) instead of failing on the first one.
    """
    started = time.perf_counter()
    src, dst = Path(input), Path(output)
    if on_error not in ("fail", "skip"):
        raise InvalidInput(f"on_error must be 'fail' or 'skip', not {one_line(on_error, 40)!r}")
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise InvalidInput("chunk_rows must be a whole number of rows, 1 or more")
    in_fmt, out_fmt = file_format(src, "input"), file_format(dst, "output")
    _check_paths(src, dst)
    if isinstance(ref, (str, os.PathLike)):
        from .models.adapters.sklearn import load_scorer
        from .models.api import load_model

        model = load_scorer(lambda: load_model(ref, repo=repo, trust=trust))
    else:
        model = ref
    scorer = _Scorer(model, method, src, skip=on_error == "skip")
    progress = progress or NO_PROGRESS
    writer = _Writer(out_fmt, dst)
    behind = _WriteBehind(writer)
    try:
        for chunk in _chunks(in_fmt, src, chunk_rows, scorer.text_columns, progress):
            frame = scorer.score(chunk)
            if frame is not None:
                behind.write(frame)
            progress.advance(chunk.rows, chunk.nbytes)
        behind.finish()
        if scorer.rows_read == 0:
            raise InvalidInput(f"{src} has no data rows")
        if scorer.rows_written == 0:
            first = f"; {scorer.skipped[0]}" if scorer.skipped else ""
            raise InvalidInput(f"every row of {src} was skipped ({scorer.rows_read:,}){first}")
        writer.commit()
    except BaseException:
        behind.close()
        writer.abort()
        raise
    finally:
        behind.close()
    return BatchReport(
        input=src,
        output=dst,
        method=scorer.method.name,
        rows_read=scorer.rows_read,
        rows_written=scorer.rows_written,
        rows_skipped=scorer.rows_skipped,
        seconds=time.perf_counter() - started,
        skipped=tuple(scorer.skipped),
    )


def _check_paths(src: Path, dst: Path) -> None:
    if not src.exists():
        raise NotFound(f"input {src}: no such file")
    if not src.is_file():
        raise InvalidInput(f"input {src} is not a file")
    folder = dst.parent
    if not folder.is_dir():
        raise NotFound(f"output folder {folder} does not exist; create it first")
    if dst.is_dir():
        raise InvalidInput(f"output {dst} is a folder; give a file name")
    if dst.resolve() == src.resolve() or (dst.exists() and os.path.samefile(dst, src)):
        raise InvalidInput(f"output {dst} is the input file; write the predictions elsewhere")


# -- reading ---------------------------------------------------------------------------------


@dataclass
class _Chunk:
    frame: Any  # DataFrame of the rows that could be read
    start: int  # 1-based data row number of the chunk's first row
    rows: int  # data rows the chunk covers (frame's, plus unreadable ones)
    nbytes: int  # bytes of the input this chunk consumed (0 where unknown)
    numbers: Any = None  # row numbers of frame's rows, where some rows are missing from it
    unreadable: tuple[
        RowProblem, ...
    ] = ()  # rows that are not data (a JSON line that is no object)


def _chunks(
    fmt: str, path: Path, chunk_rows: int, text: list[str], progress: Progress
) -> Iterator[_Chunk]:
    if fmt == "csv":
        return _csv_chunks(path, chunk_rows, text, progress)
    if fmt == "parquet":
        return _parquet_chunks(path, chunk_rows, progress)
    return _jsonl_chunks(path, chunk_rows, progress)


class _LineGuard:
    """A binary file for pandas' CSV parser that refuses a line longer than MAX_LINE_BYTES
    (the parser would hold all of it in memory) and counts the bytes read."""

    mode = "rb"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = open(path, "rb")  # noqa: SIM115 (closed by close())
        self.consumed = 0
        self._run = 0  # bytes since the last newline

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        first = data.find(b"\n")
        if first < 0:
            self._run += len(data)
        else:
            if self._run + first > MAX_LINE_BYTES:
                self._too_long()
            self._run = len(data) - data.rfind(b"\n") - 1
        if self._run > MAX_LINE_BYTES:
            self._too_long()
        self.consumed += len(data)
        return data

    def _too_long(self) -> None:
        raise InvalidInput(
            f"{self.path}: a line longer than {MAX_LINE_BYTES >> 20} MiB "
            f"(before byte {self.consumed:,}); is it a CSV file?"
        )

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._fh.close()


def _csv_error(path: Path, e: Exception) -> LandmarkError:
    if isinstance(e, LandmarkError):
        return e
    if isinstance(e, UnicodeDecodeError):
        return InvalidInput(
            f"{path} is not UTF-8 text (byte {e.start:,} of a block cannot be read)"
        )
    text = str(e).replace("Error tokenizing data. C error: ", "")
    return InvalidInput(f"{path}: not a valid CSV file ({one_line(text)})")


def _csv_chunks(
    path: Path, chunk_rows: int, text: list[str], progress: Progress
) -> Iterator[_Chunk]:
    import pandas as pd

    fh = _LineGuard(path)
    try:
        progress.start(0, path.stat().st_size, "predict")
        try:
            reader = pd.read_csv(
                fh, chunksize=chunk_rows, dtype=dict.fromkeys(text, str), encoding="utf-8"
            )
        except pd.errors.EmptyDataError as e:
            raise InvalidInput(f"{path} is empty: no header and no rows") from e
        except (ValueError, pd.errors.ParserError) as e:  # UnicodeDecodeError is a ValueError
            raise _csv_error(path, e) from e
        start, done = 1, 0
        with reader:
            while True:
                try:
                    frame = next(reader)
                except StopIteration:
                    return
                except (ValueError, pd.errors.ParserError) as e:
                    raise _csv_error(path, e) from e
                n = len(frame)
                yield _Chunk(frame, start, n, fh.consumed - done)
                done = fh.consumed
                start += n
    finally:
        fh.close()


def _parquet_chunks(path: Path, chunk_rows: int, progress: Progress) -> Iterator[_Chunk]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        rows = pf.metadata.num_rows
    except (pa.ArrowException, OSError, ValueError) as e:
        raise InvalidInput(f"{path} is not a Parquet file ({one_line(e)})") from e
    with pf:
        progress.start(rows, 0, "predict")
        batches = pf.iter_batches(batch_size=chunk_rows)
        start = 1
        while True:
            try:
                batch = next(batches)
                frame = batch.to_pandas()
            except StopIteration:
                return
            except (pa.ArrowException, OSError, ValueError) as e:
                raise InvalidInput(f"{path}: a corrupt Parquet file ({one_line(e)})") from e
            n = len(frame)
            yield _Chunk(frame, start, n, 0)
            start += n


def _jsonl_chunks(path: Path, chunk_rows: int, progress: Progress) -> Iterator[_Chunk]:
    import numpy as np
    import pandas as pd

    columns: list[str] | None = None
    row = line_no = 0
    with open(path, "rb") as fh:
        progress.start(0, path.stat().st_size, "predict")
        while True:
            records: list[dict[str, Any]] = []
            numbers: list[int] = []
            bad: list[RowProblem] = []
            start, before = row + 1, fh.tell()
            while len(records) + len(bad) < chunk_rows:
                line = fh.readline(MAX_LINE_BYTES + 1)
                if not line:
                    break
                line_no += 1
                if len(line) > MAX_LINE_BYTES:
                    raise InvalidInput(
                        f"{path}: line {line_no:,} is longer than {MAX_LINE_BYTES >> 20} MiB"
                    )
                if not line.strip():
                    continue
                row += 1
                try:
                    value = json.loads(line)
                except (ValueError, RecursionError) as e:  # JSONDecodeError, UnicodeDecodeError
                    reason = (
                        "nested too deeply"
                        if isinstance(e, RecursionError)
                        else getattr(e, "msg", None) or "not UTF-8"
                    )
                    bad.append(RowProblem(row, f"line {line_no:,} is not valid JSON ({reason})"))
                    continue
                if not isinstance(value, dict):
                    kind = "an array" if isinstance(value, list) else f"a {type(value).__name__}"
                    bad.append(RowProblem(row, f"line {line_no:,} is {kind}, not a JSON object"))
                    continue
                records.append(value)
                numbers.append(row)
            if not records and not bad:
                if row == 0 and line_no == 0:
                    raise InvalidInput(f"{path} is empty: no rows")
                return
            if columns is None and records:
                frame = pd.DataFrame.from_records(records)
                columns = [str(c) for c in frame.columns]
            else:
                frame = pd.DataFrame.from_records(records, columns=columns or [])
            yield _Chunk(
                frame,
                start,
                row - start + 1,
                fh.tell() - before,
                np.asarray(numbers, dtype=np.int64) if bad else None,
                tuple(bad),
            )


# -- checking and scoring --------------------------------------------------------------------


class _Scorer:
    """Checks each chunk against the method's input signature, scores it, and builds the
    output rows; counts what was read, written and skipped."""

    def __init__(self, model: LoadedModel, method: str, src: Path, *, skip: bool) -> None:
        self.model = model
        self.method = model.method(method)
        self.signature: Signature = self.method.input
        self.src = src
        self.skip = skip
        self.rows_read = self.rows_written = self.rows_skipped = 0
        self.skipped: list[RowProblem] = []
        self._columns: list[str] | None = None  # the input's, from the first chunk
        self._names: list[str] | None = None  # the output's
        sig = self.signature
        self.text_columns = [
            c.name for c in sig.columns if c.dtype in _TEXT
        ] if sig.kind == "dataframe" else []  # fmt: skip

    def score(self, chunk: _Chunk) -> Any:
        import numpy as np

        frame = chunk.frame.reset_index(drop=True)
        self.rows_read += chunk.rows
        if self._columns is None and len(frame.columns):
            self._check_columns([str(c) for c in frame.columns])
        numbers = (
            chunk.numbers
            if chunk.numbers is not None
            else np.arange(chunk.start, chunk.start + len(frame), dtype=np.int64)
        )
        problems = list(chunk.unreadable)
        data = frame
        if self.signature.kind == "dataframe" and len(frame):
            data, bad, why = _prepare(frame, self.signature.columns)
            if bad is not None:
                for i in np.flatnonzero(bad)[: EXAMPLES if self.skip else 1]:
                    problems.append(RowProblem(int(numbers[i]), why(int(i))))
                frame, data = frame[~bad], data[~bad]
                numbers = numbers[~bad]
                self.rows_skipped += int(bad.sum())
        if problems:
            problems.sort(key=lambda p: p.row)
            if not self.skip:
                raise SignatureError(f"{self.src}: {problems[0]}")
            self.rows_skipped += len(chunk.unreadable)
            self.skipped.extend(problems[: max(0, EXAMPLES - len(self.skipped))])
        if not len(frame):
            return None
        result = self._call(data, int(numbers[0]), int(numbers[-1]))
        out = self._outputs(result, len(frame))
        frame = frame.reset_index(drop=True)
        if self._names is None:
            self._names = [str(c) for c in out.columns]
            clash = [c for c in self._names if c in (self._columns or [])]
            if clash:
                raise InvalidInput(
                    f"{self.src} already has a column {clash[0]!r}, which the output adds; "
                    "rename it"
                )
        import pandas as pd

        self.rows_written += len(frame)
        return pd.concat([frame, out], axis=1)

    def _check_columns(self, columns: list[str]) -> None:
        self._columns = columns
        if self.signature.kind != "dataframe":
            return
        expected = [c.name for c in self.signature.columns]
        missing = [c for c in expected if c not in columns]
        if missing:
            s = "" if len(missing) == 1 else "s"
            raise SignatureError(
                f"{self.src}: missing column{s} {', '.join(map(repr, missing))} "
                f"(the model's {self.method.name} takes {', '.join(map(repr, expected))})"
            )

    def _call(self, data: Any, first: int, last: int) -> Any:
        rows = f"row {first}" if first == last else f"rows {first}-{last}"
        if self.signature.kind in ("ndarray", "tensor"):
            data = data.to_numpy()
        try:
            return self.method(data)
        except LandmarkError as e:
            raise type(e)(f"{self.src}, {rows}: {e}") from e
        except Exception as e:  # the model's own code: any error is this chunk's
            raise InvalidInput(
                f"{self.src}, {rows}: {self.method.name} failed ({type(e).__name__}: {one_line(e)})"
            ) from e

    def _outputs(self, result: Any, n: int) -> Any:
        import numpy as np
        import pandas as pd

        name = self.method.name
        if isinstance(result, pd.DataFrame):
            out = result.reset_index(drop=True)
            out.columns = [str(c) for c in out.columns]
        elif isinstance(result, pd.Series):
            out = pd.DataFrame({"prediction": result.to_numpy()})
        else:
            if hasattr(result, "toarray"):  # scipy sparse
                result = result.toarray()
            elif hasattr(result, "detach"):  # a torch tensor
                result = result.detach().cpu().numpy()
            if isinstance(result, dict):
                out = pd.DataFrame({str(k): np.asarray(v) for k, v in result.items()})
            else:
                arr = np.asarray(result)
                if arr.ndim == 1:
                    out = pd.DataFrame({"prediction": arr})
                elif arr.ndim == 2:
                    out = pd.DataFrame(arr, columns=self._class_columns(arr.shape[1]), copy=False)
                else:
                    raise InvalidInput(
                        f"{name} answered an array of shape {arr.shape}; only 1-D and 2-D "
                        "answers can be written to a file"
                    )
        if len(out) != n:
            raise InvalidInput(f"{name} answered {len(out)} rows for {n}")
        return out

    def _class_columns(self, width: int) -> list[str]:
        name = self.method.name
        classes = getattr(self.model.native, "classes_", None)
        prefix = {"predict_proba": "proba", "__call__": "output"}.get(name, name)
        try:
            labels = [str(c) for c in classes] if classes is not None else []
        except TypeError:
            labels = []
        if len(labels) == width and len(set(labels)) == width:
            return [f"{prefix}_{c}" for c in labels]
        return [f"{prefix}_{i}" for i in range(width)]


def _prepare(frame: Any, columns: tuple[Column, ...]) -> tuple[Any, Any, Any]:
    """The signature's columns of ``frame`` converted to their dtypes; a mask of the rows
    that do not fit (None when all do), and a function telling why row i does not."""
    import pandas as pd

    converted: dict[str, Any] = {}
    checks: list[tuple[Any, str, Any]] = []  # (bad mask, column, original values)
    for col in columns:
        values, bad = _convert(frame[col.name], col)
        converted[col.name] = values
        if bad is not None and bad.any():
            checks.append((bad, col.name, frame[col.name]))
    data = pd.DataFrame(converted, copy=False)
    if not checks:
        return data, None, None
    mask = checks[0][0].copy()
    for bad, _, _ in checks[1:]:
        mask |= bad
    by_name = {c.name: c for c in columns}

    def why(i: int) -> str:
        for bad, name, original in checks:
            if bad[i]:
                return _problem(original.iloc[i], by_name[name])
        return "does not fit the signature"

    return data, mask, why


def _problem(value: Any, col: Column) -> str:
    import pandas as pd

    if value is None or (not isinstance(value, (list, dict)) and bool(pd.isna(value))):
        return f"column {col.name!r} has a missing value; the model's sample had none there"
    shown = one_line(repr(value.item() if hasattr(value, "item") else value), 40)
    return f"column {col.name!r}: {shown} is not a valid {col.dtype}"


def _convert(s: Any, col: Column) -> tuple[Any, Any]:
    """(values of ``col.dtype`` where possible, a boolean array of rows that do not fit)."""
    import numpy as np
    import pandas as pd

    want = col.dtype
    if want in _TEXT:
        gaps = s.isna().to_numpy() if col.missing is False else None
        if s.dtype.kind in "iufbmM":  # numbers where the model takes text (JSON, Parquet)
            s = s.map(lambda v: v if v is None or v != v else str(v))
        return s, gaps
    try:
        target = np.dtype(want)
    except TypeError:
        return s, None  # a dtype numpy does not know (Int64, ...): the signature check decides
    kind = target.kind
    if kind == "M":
        values = pd.to_datetime(s, errors="coerce")
        bad = (values.isna() & s.notna()).to_numpy()
        if col.missing is False:
            bad |= s.isna().to_numpy()
        return values, bad
    if kind == "b":
        if s.dtype.kind == "b":
            return s, None
        words = {"true": True, "false": False, "1": True, "0": False}
        values = s.map(lambda v: words.get(str(v).strip().lower()))
        bad = values.isna().to_numpy()
        return values.fillna(False).astype(bool), bad
    if kind not in "iuf":
        return s, None
    if s.dtype.kind in "iufb" and type(s.dtype).__module__.startswith("numpy"):
        numbers = s
        bad = None
    else:
        numbers = _to_numeric(s)
        bad = (numbers.isna() & s.notna()).to_numpy()
    arr = numbers.to_numpy()
    if arr.dtype.kind == "f":
        gaps = np.isnan(arr)
        if kind in "iu":
            info = np.iinfo(target)
            with np.errstate(invalid="ignore"):
                wrong = ~gaps & ((arr != np.floor(arr)) | (arr < info.min) | (arr > info.max))
            bad = _either(bad, wrong | gaps)
            arr = np.where(bad, 0, arr)
        elif col.missing is False:
            bad = _either(bad, gaps)
    elif kind == "u" and arr.dtype.kind == "i" and len(arr) and arr.min() < 0:
        bad = _either(bad, arr < 0)
        arr = np.where(bad, 0, arr)
    if arr.dtype != target:
        arr = arr.astype(target)
    return arr, bad


def _either(a: Any, b: Any) -> Any:
    return b if a is None else a | b


def _to_numeric(s: Any) -> Any:
    import pandas as pd

    try:
        return pd.to_numeric(s, errors="coerce")
    except (TypeError, ValueError):  # lists or dicts in the column (JSON)
        return pd.to_numeric(
            s.map(lambda v: v if isinstance(v, (int, float, str)) else None), errors="coerce"
        )


def _csv_header(frame: Any) -> bytes:
    import csv
    import io

    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow([str(c) for c in frame.columns])
    return text.getvalue().encode("utf-8")


def _csv_rows(frame: Any) -> bytes:
    """The rows as CSV, by Arrow's writer where it takes the columns (ten times pandas'
    speed, floats in their shortest exact form, as pandas writes them), else by pandas."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pa_csv

        table = _arrow_table(frame)
        sink = pa.BufferOutputStream()
        options = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
        pa_csv.write_csv(table, sink, options)
        return bytes(sink.getvalue())
    except ImportError:
        pass
    except LandmarkError:  # columns Arrow cannot take: pandas writes them as they are
        pass
    text: str = frame.to_csv(header=False, index=False, lineterminator="\n")
    return text.encode("utf-8")


def _arrow_table(frame: Any) -> Any:
    """``frame`` as an Arrow table; a column of mixed values (JSON's ``1`` and ``"a"`` in one
    column) is written as text."""
    import pyarrow as pa

    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError):
        pass
    mixed = frame.copy()
    for name, column in mixed.items():
        if column.dtype == object:
            mixed[name] = column.map(_as_text)
    try:
        return pa.Table.from_pandas(mixed, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError) as e:
        raise InvalidInput(f"the output cannot be written as Arrow data ({one_line(e)})") from e


def _as_text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str)
    return str(value)


def _json_lines(frame: Any) -> str:
    """The rows as JSON objects, one a line; floats written exactly (pandas' to_json keeps
    15 digits at most), missing values as null."""
    import numpy as np

    columns = [str(c) for c in frame.columns]
    values = []
    for _, column in frame.items():
        if column.dtype.kind in "iub":
            values.append(column.tolist())
        else:
            items = column.to_numpy(dtype=object)
            gaps = column.isna().to_numpy()
            if gaps.any():
                items = np.where(gaps, None, items)
            values.append(items.tolist())
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_json_value).encode
    return "".join(
        dumps(dict(zip(columns, row, strict=True))) + "\n" for row in zip(*values, strict=True)
    )


def _json_value(value: Any) -> Any:
    if hasattr(value, "isoformat"):  # datetime, Timestamp, date
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


# -- writing ---------------------------------------------------------------------------------


class _WriteBehind:
    """Writes each frame in a thread while the next chunk is read and scored: formatting the
    output (Arrow's CSV and Parquet writers let go of the GIL) overlaps reading the input.
    One frame is written at a time and the next waits for it, so at most two chunks' output
    is held at once; a failed write is raised by the next ``write`` or by ``finish``."""

    def __init__(self, writer: _Writer) -> None:
        self._writer = writer
        self._pool: Any = None
        self._pending: Any = None

    def write(self, frame: Any) -> None:
        self.finish()
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(1, thread_name_prefix="landmark-write")
        self._pending = self._pool.submit(self._writer.write, frame)

    def finish(self) -> None:
        """Wait for the frame being written; raise what its write raised."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        """Wait for the write in progress, ignoring its failure (after a failure the file is
        removed next), and stop the thread."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.exception()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


class _Writer:
    """Appends frames to a temp file beside ``target`` (made on the first write), renamed over
    ``target`` by ``commit``; ``abort`` removes it."""

    def __init__(self, fmt: str, target: Path) -> None:
        self.fmt = fmt
        self.target = target
        self.tmp: Path | None = None
        self._fh: Any = None
        self._parquet: Any = None
        self._schema: Any = None

    def _open(self) -> None:
        folder, name = self.target.parent, self.target.name
        self.tmp = folder / f".{name}.{os.urandom(6).hex()}.tmp"
        fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        self._fh = os.fdopen(fd, "wb")

    def write(self, frame: Any) -> None:
        first = self._fh is None
        if first:
            self._open()
        if self.fmt == "csv":
            if first:
                self._fh.write(_csv_header(frame))
            self._fh.write(_csv_rows(frame))
        elif self.fmt == "jsonl":
            self._fh.write(_json_lines(frame).encode("utf-8"))
        else:
            self._write_parquet(frame)

    def _write_parquet(self, frame: Any) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = _arrow_table(frame)
        if self._parquet is None:
            self._schema = table.schema
            self._parquet = pq.ParquetWriter(self._fh, table.schema)
        elif not table.schema.equals(self._schema, check_metadata=False):
            try:
                table = table.cast(self._schema)
            except (pa.ArrowException, ValueError) as e:
                changed = next(
                    (
                        f"{f.name!r} ({self._schema.field(f.name).type} then {f.type})"
                        for f in table.schema
                        if f.name in self._schema.names
                        and self._schema.field(f.name).type != f.type
                    ),
                    "a column",
                )
                raise InvalidInput(
                    f"{changed} changed type between chunks, which a Parquet file cannot hold; "
                    "pass a larger --chunk-rows or write CSV"
                ) from e
        self._parquet.write_table(table)

    def commit(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        self._fh.close()
        assert self.tmp is not None
        os.replace(self.tmp, self.target)
        self.tmp = None

    def abort(self) -> None:
        try:
            if self._parquet is not None:
                self._parquet.close()
        except Exception:  # a half-written file, removed next
            pass
        if self._fh is not None:
            self._fh.close()
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)
            self.tmp = None


__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "FORMATS",
    "BatchReport",
    "RowProblem",
    "file_format",
    "predict_file",
]
