"""Score Spark DataFrames with a landmark model: ``landmark.spark_udf``.

On the driver, :func:`spark_udf` resolves the model (a directory, or a registry ref fetched into
the cache), loads it once to check its files, safety and method, derives the result type from
the method's output signature, packs the directory into one zip and adds it to the
SparkContext as an archive. Spark copies that archive to each executor once and unpacks it
there; every Python worker loads the model the first time it scores a batch and keeps it in
:data:`_LOADED`, keyed by the model's content hash, for every later batch and task. Batches
travel as Arrow record batches (an iterator pandas UDF, so one load serves a whole partition
and, with Spark's worker reuse, the partitions after it).

The executors need the same Python packages as the driver: landmark, pandas, pyarrow and the
model's framework (``landmark describe-model`` lists its requirements).
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput, MissingDependency, SignatureError
from .models.meta import META_FILE
from .models.signature import Signature, validate

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .models.api import LoadedModel

PathLike = str | os.PathLike[str]

# The models this Python worker has loaded, by content hash; a worker serves many tasks.
_LOADED: dict[str, LoadedModel] = {}
_LOAD_LOCK = threading.Lock()
_ARCHIVE_DIR: list[Path] = []  # the driver's folder of packed models, removed at exit

# numpy kind + size -> Spark SQL type, for a derived result type
_SCALAR_TYPES = {"b": "boolean", "f": "double", "U": "string", "O": "string", "S": "binary"}
_INT_TYPES = {1: "int", 2: "int", 4: "int", 8: "long"}
# Spark SQL type name -> the numpy dtype an answer is cast to before Arrow reads it
_NUMPY_FOR = {
    "double": "float64",
    "float": "float32",
    "bigint": "int64",
    "long": "int64",
    "int": "int32",
    "smallint": "int16",
    "short": "int16",
    "tinyint": "int8",
    "byte": "int8",
    "boolean": "bool",
}


@dataclass(frozen=True)
class _Plan:
    """What a Python worker needs to score batches; pickled into each task (it is small)."""

    key: str  # the model's content hash
    archive: str  # the archive's name in SparkFiles
    method: str
    names: tuple[str, ...]  # the signature's column name for each UDF argument, in order
    result: Any  # the result's Spark DataType
    trust: bool
    loads: Any  # an Accumulator counting model loads on the executors


class ModelUDF:
    """A model as a Spark column function: ``udf("tenure", "charges")``, ``udf(*df.columns)``,
    ``udf(F.struct(...))`` or ``udf()`` (the signature's columns by name) returns a Column
    for ``select``/``withColumn``.

    Arguments are matched to the model's input columns by name when they are all column names
    of the signature (in any order), else by position; one struct argument is unpacked by its
    field names. ``loads`` counts how often executors loaded the model (once per Python worker).
    """

    def __init__(
        self,
        *,
        path: Path,
        key: str,
        archive: str,
        method: str,
        signature: Signature,
        result_type: Any,
        trust: bool,
        loads: Any,
    ) -> None:
        self.path = path
        self.key = key
        self.archive = archive
        self.method = method
        self.signature = signature
        self.result_type = result_type
        self.trust = trust
        self._loads = loads

    @property
    def columns(self) -> tuple[str, ...]:
        """The input column names the model takes (empty for a non-table signature)."""
        return tuple(c.name for c in self.signature.columns)

    @property
    def loads(self) -> int:
        """Model loads on the executors so far (read on the driver, after an action)."""
        return int(self._loads.value)

    def __call__(self, *cols: Any) -> Any:
        from pyspark.sql.pandas.functions import pandas_udf

        names, args = self._arguments(cols)
        plan = _Plan(
            key=self.key,
            archive=self.archive,
            method=self.method,
            names=names,
            result=self.result_type,
            trust=self.trust,
            loads=self._loads,
        )

        def score(batches: Any) -> Any:
            return _score(plan, batches)

        score.__annotations__ = _annotations()
        score.__name__ = score.__qualname__ = f"landmark_{self.method}"
        make: Any = pandas_udf  # its stubs do not cover iterator functions
        return make(score, self.result_type)(*args)

    def _arguments(self, cols: tuple[Any, ...]) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        """The signature's name for each argument (``()`` for a struct or a non-table model),
        checked here on the driver so a wrong count fails before any task runs."""
        sig = self.signature
        if sig.kind != "dataframe":
            if not cols:
                raise SignatureError(
                    f"the model's {self.method} takes {sig.describe()}; "
                    "pass its input columns to the UDF"
                )
            width = sig.shape[1] if sig.shape and len(sig.shape) == 2 else None
            if width is not None and len(cols) not in (1, width):
                raise SignatureError(
                    f"the model's {self.method} takes {width} values a row "
                    f"({sig.describe()}); the UDF was called with {len(cols)} columns: pass "
                    f"{width} numeric columns, or one array column"
                )
            return (), cols
        expected = self.columns
        if not cols:  # the signature's own columns, by name
            return expected, tuple(expected)
        if all(isinstance(c, str) for c in cols) and sorted(cols) == sorted(expected):
            return tuple(cols), cols
        if len(cols) == 1 and len(expected) > 1:  # a struct: unpacked by field name
            return (), cols
        if len(cols) != len(expected):
            given = ", ".join(repr(c) if isinstance(c, str) else str(c) for c in cols)
            raise SignatureError(
                f"the model's {self.method} takes {len(expected)} columns "
                f"({', '.join(expected)}); the UDF was called with {len(cols)} ({given}): "
                "pass them in this order, or one struct column with these fields"
            )
        return expected, cols

    def __repr__(self) -> str:
        return (
            f"<landmark.spark_udf {self.method}({self.signature.describe()}) -> "
            f"{self.result_type.simpleString()} from {self.path}>"
        )


def spark_udf(
    spark: Any,
    ref: PathLike,
    *,
    repo: PathLike = ".",
    method: str = "predict",
    result_type: Any = None,
    trust: bool = False,
) -> ModelUDF:
    """A column function scoring rows with the model at ``ref`` (a model directory, or a
    registry ref such as ``churn#prod`` or ``churn@v1.2.0`` in ``repo``).

    ``result_type`` (a Spark DataType or a DDL string such as ``"double"``) defaults to what
    the method's output signature says: one number or label a row becomes ``double``,
    ``long``, ``int``, ``boolean`` or ``string``; rows of numbers (``predict_proba``) an
    ``array``; a DataFrame a ``struct``. Unsafe models (pickles...) need ``trust=True``.
    """
    try:
        import pyspark  # noqa: F401
    except ImportError as e:
        raise MissingDependency(
            "landmark.spark_udf needs pyspark, pandas and pyarrow: pip install 'landmark[spark]'"
        ) from e
    from .models.adapters.sklearn import load_scorer
    from .models.api import _resolve, load_model

    directory = _resolve(ref, repo, None)
    # files, md5s and safety, on the driver
    model = load_scorer(lambda: load_model(directory, trust=trust))
    bound = model.method(method)
    key = _content_key(directory)
    archive = _ship(spark.sparkContext, directory, key)
    rtype = _result_type(result_type, bound.output, bound.name)
    return ModelUDF(
        path=directory,
        key=key,
        archive=archive,
        method=bound.name,
        signature=bound.input,
        result_type=rtype,
        trust=trust,
        loads=spark.sparkContext.accumulator(0),
    )


# -- the driver: packing, shipping, result types -------------------------------------------


def _content_key(directory: Path) -> str:
    """The model's content hash: ``landmark.yaml`` records every file's md5 and size."""
    return hashlib.sha256((directory / META_FILE).read_bytes()).hexdigest()[:20]


def _ship(sc: Any, directory: Path, key: str) -> str:
    """Add the model directory to the SparkContext as a zip archive (once per content)."""
    name = f"landmark-model-{key}.zip"
    if any(uri.rstrip("/").endswith("/" + name) for uri in sc.listArchives):
        return name
    if not _ARCHIVE_DIR:
        folder = Path(tempfile.mkdtemp(prefix="landmark-spark-"))
        atexit.register(shutil.rmtree, folder, True)
        _ARCHIVE_DIR.append(folder)
    target = _ARCHIVE_DIR[0] / name
    if not target.is_file():
        partial = target.with_suffix(".part")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for path in sorted(directory.rglob("*")):
                if path.is_file():
                    zf.write(path, path.relative_to(directory).as_posix())
        partial.replace(target)
    sc.addArchive(str(target))
    return name


def _result_type(given: Any, output: Signature, method: str) -> Any:
    from pyspark.sql.types import DataType

    if given is None:
        ddl = _derived_type(output)
        if ddl is None:
            raise InvalidInput(
                f"cannot derive a Spark type from {method}'s output ({output.describe()}); "
                'pass result_type= (a DataType or a DDL string such as "double")'
            )
        given = ddl
    if isinstance(given, DataType):
        return given
    if isinstance(given, str):
        return _parse_ddl(given)
    raise InvalidInput(
        f"result_type must be a Spark DataType or a DDL string, not {type(given).__name__}"
    )


def _parse_ddl(ddl: str) -> Any:
    from pyspark.sql.types import DataType

    from_ddl = getattr(DataType, "fromDDL", None)  # pyspark 4
    if from_ddl is not None:
        return from_ddl(ddl)
    from pyspark.sql.types import _parse_datatype_string

    return _parse_datatype_string(ddl)


def _derived_type(output: Signature) -> str | None:
    """A DDL type for the method's output signature, or None when it says too little."""
    kind = output.kind
    if kind in ("ndarray", "tensor", "series"):
        element = _scalar_ddl(output.dtype)
        if element is None:
            return None
        dims = 1 if kind == "series" or output.shape is None else len(output.shape)
        if dims == 1:
            return element
        if dims == 2:
            return f"array<{element}>"
        return None
    if kind == "dataframe" and output.columns:
        fields = [(c.name, _scalar_ddl(c.dtype)) for c in output.columns]
        if any(t is None for _, t in fields):
            return None
        return "struct<" + ", ".join(f"`{n.replace('`', '``')}`: {t}" for n, t in fields) + ">"
    if kind == "list" and output.item is not None and output.item.kind == "scalar":
        return _scalar_ddl(output.item.dtype)
    return None


def _scalar_ddl(dtype: str | None) -> str | None:
    if dtype is None:
        return None
    named = {"bool": "boolean", "int": "long", "float": "double", "str": "string"}
    if dtype in named:
        return named[dtype]
    if dtype in ("object", "string", "category"):
        return "string"
    import numpy as np

    try:
        dt = np.dtype(dtype)
    except TypeError:
        return None
    if dt.kind in "iu":
        return _INT_TYPES[dt.itemsize] if dt.kind == "i" or dt.itemsize < 4 else "long"
    return _SCALAR_TYPES.get(dt.kind)


# -- the executors: load once, score batches ----------------------------------------------


def _annotations() -> dict[str, Any]:
    """The type hints that make pyspark call the function with an iterator of batches."""
    from collections.abc import Iterator
    from typing import Union

    import pandas as pd

    arg = Union[pd.Series, pd.DataFrame]  # noqa: UP007 - pyspark looks for typing.Union
    return {"batches": Iterator[tuple[arg, ...]], "return": Iterator[pd.Series]}


def _model(plan: _Plan) -> LoadedModel:
    """This worker's copy of the model, loaded from the unpacked archive the first time."""
    model = _LOADED.get(plan.key)
    if model is not None:
        return model
    with _LOAD_LOCK:
        model = _LOADED.get(plan.key)
        if model is None:
            from pyspark import SparkFiles

            from .models.adapters.sklearn import load_scorer
            from .models.api import load_model

            root = Path(SparkFiles.get(plan.archive))
            model = load_scorer(lambda: load_model(root, trust=plan.trust))
            _LOADED[plan.key] = model
            plan.loads.add(1)
    return model


def _score(plan: _Plan, batches: Iterator[Any]) -> Iterator[Any]:
    model = _model(plan)
    method = model.method(plan.method)
    for batch in batches:
        parts = (batch,) if not isinstance(batch, tuple) else batch
        data = _input(method.input, plan.names, parts)
        yield _output(method(data), plan.result)


def _input(sig: Signature, names: tuple[str, ...], parts: tuple[Any, ...]) -> Any:
    """The model's input for one batch: a DataFrame with the signature's columns and dtypes
    (or an array for an array signature), cast from what Spark sent where no value changes."""
    import pandas as pd

    if sig.kind == "dataframe":
        if len(parts) == 1 and isinstance(parts[0], pd.DataFrame):
            frame = parts[0]  # a struct: its fields by name
        elif len(parts) == len(names):
            frame = pd.DataFrame(
                {name: part.to_numpy() for name, part in zip(names, parts, strict=True)}
            )
        else:
            expected = ", ".join(c.name for c in sig.columns)
            raise SignatureError(
                f"input: got {len(parts)} columns; the model takes {len(sig.columns)} "
                f"({expected}): pass them, or one struct column with these fields"
            )
        return validate(sig, _cast_columns(sig, frame))
    if sig.kind in ("ndarray", "tensor"):
        return _array(sig, parts)
    if len(parts) == 1:  # a Series, or a struct's DataFrame: the method checks it
        return parts[0]
    return pd.concat(parts, axis=1)


def _array(sig: Signature, parts: tuple[Any, ...]) -> Any:
    import numpy as np
    import pandas as pd

    if len(parts) == 1:
        part = parts[0]
        if isinstance(part, pd.DataFrame):
            data = part.to_numpy()
        elif part.dtype == object:  # an array column: one array a row
            data = np.stack(part.to_numpy())
        else:
            data = part.to_numpy()
    else:
        data = np.column_stack([p.to_numpy() for p in parts])
    want = sig.dtype
    if want is not None and str(data.dtype) != want:
        try:
            target = np.dtype(want)
        except TypeError:
            return data
        if data.dtype.kind in "iuf" and target.kind == "f":  # Spark has no float32 columns
            data = data.astype(target)
    return data


def _cast_columns(sig: Signature, frame: Any) -> Any:
    """Spark's integers arrive as floats where a column has nulls, and numbers as doubles
    where the model was trained on integers or float32: cast such columns to the signature's
    dtype when every value survives; anything else is left for the signature check."""
    import numpy as np

    casts: dict[str, Any] = {}
    for col in sig.columns:
        if col.name not in frame.columns:
            continue
        have = frame[col.name].dtype
        try:
            want = np.dtype(col.dtype)
        except TypeError:
            continue
        if have == want or getattr(have, "kind", None) not in ("f", "i", "u"):
            continue
        values = frame[col.name].to_numpy()
        if want.kind in "iu" and have.kind == "f":
            if np.isnan(values).any():
                raise SignatureError(
                    f"input: column {col.name!r} has nulls; the model expects {col.dtype} "
                    "values (fill them in or drop those rows first)"
                )
            cast = values.astype(want)
            if np.array_equal(cast, values):
                casts[col.name] = want
        elif want.kind == "f" and have.kind == "f":
            casts[col.name] = want  # double -> float32: Spark has no float32 input
    return frame.astype(casts) if casts else frame


def _output(answer: Any, result: Any) -> Any:
    """One batch's answer as the Series (or DataFrame, for a struct) Arrow reads."""
    import numpy as np
    import pandas as pd
    from pyspark.sql.types import ArrayType, StringType, StructType

    if isinstance(result, StructType):
        frame = answer if isinstance(answer, pd.DataFrame) else pd.DataFrame(answer)
        frame.columns = [f.name for f in result.fields][: len(frame.columns)]
        return frame
    if isinstance(answer, (pd.Series, pd.DataFrame)):
        answer = answer.to_numpy()
    elif hasattr(answer, "detach"):  # a torch tensor
        answer = answer.detach().cpu().numpy()
    data = np.asarray(answer)
    if isinstance(result, ArrayType):
        element = _NUMPY_FOR.get(result.elementType.simpleString())
        if element is not None and data.dtype != element:
            data = data.astype(element)
        if data.ndim == 1:
            data = data.reshape(-1, 1)
        return pd.Series(list(data))
    if data.ndim == 2 and data.shape[1] == 1:
        data = data[:, 0]
    if isinstance(result, StringType):
        return pd.Series(data.astype(str) if data.dtype.kind != "O" else data)
    want = _NUMPY_FOR.get(result.simpleString())
    if want is not None and data.dtype != want:
        data = data.astype(want)
    return pd.Series(data)


__all__ = ["ModelUDF", "spark_udf"]
