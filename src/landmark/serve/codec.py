"""The REST payloads of ``landmark serve``: JSON in, the model's input type out, and back.

A request body is JSON shaped as the method's input signature allows:

- a DataFrame input takes *records* (``[{"tenure": 3, "charges": 20.5}, ...]``), *columns*
  (``{"tenure": [3, 5], "charges": [20.5, 7.0]}``), *split* (``{"columns": [...], "data":
  [[...], ...]}``, also under ``"dataframe_split"`` as MLflow sends it) or rows as arrays in the
  signature's column order (``[[3, 20.5], ...]``);
- an ndarray, tensor or series input takes (nested) arrays;
- anything may be wrapped as ``{"inputs": ...}`` or ``{"instances": ...}``.

The answer is ``{"predictions": ...}``: arrays as nested lists, a DataFrame as records, NaN
and infinities as ``null``. :func:`from_json` turns such an answer back into what the local
model returns, from the output signature (``landmark.Client`` does that).
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidInput, SignatureError
from ..models.signature import Signature, validate

WRAPPERS = ("inputs", "instances", "dataframe_records")


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise InvalidInput("the request body is empty; send JSON (records, columns or arrays)")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidInput(f"the request body is not JSON ({_first(e)})") from None


def _first(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text[:160]


def decode(body: bytes, sig: Signature) -> Any:
    """The method's input from a JSON body, checked against ``sig`` (InvalidInput or
    SignatureError naming what is wrong)."""
    return to_input(parse_json(body), sig)


def to_input(doc: Any, sig: Signature) -> Any:
    doc = _unwrap(doc, sig)
    kind = sig.kind
    if kind == "dataframe":
        fast = _records_fast(doc, sig)
        if fast is not None:
            frame, checked = fast
            return frame if checked else validate(sig, frame)
        data = _dataframe(doc, sig)
    elif kind in ("ndarray", "tensor", "sparse"):
        data = _array(doc, sig)
    elif kind == "series":
        import pandas as pd

        if not isinstance(doc, list):
            raise InvalidInput(f"expected a JSON array for the series input, got {_kind(doc)}")
        data = pd.Series(doc, dtype=_numpy_dtype(sig.dtype))
    else:
        data = doc  # lists, dicts, scalars, unknown: the JSON value as it is
    return validate(sig, data)


def _unwrap(doc: Any, sig: Signature) -> Any:
    if isinstance(doc, Mapping) and len(doc) == 1:
        key = next(iter(doc))
        if key in WRAPPERS and not _is_column(sig, key):
            return doc[key]
        if key == "dataframe_split":
            return doc[key]
    return doc


def _is_column(sig: Signature, key: str) -> bool:
    return any(c.name == key for c in sig.columns)


def _kind(doc: Any) -> str:
    if isinstance(doc, Mapping):
        return "an object"
    if isinstance(doc, list):
        return "an array"
    return "null" if doc is None else f"a {type(doc).__name__}"


def _dataframe(doc: Any, sig: Signature) -> Any:
    import pandas as pd

    names = [c.name for c in sig.columns]
    try:
        if isinstance(doc, list):
            if not doc:
                raise InvalidInput("the request has no rows; send at least one record")
            if all(isinstance(r, Mapping) for r in doc):
                frame = pd.DataFrame.from_records(doc)
            elif all(isinstance(r, list) for r in doc):
                _row_lengths(doc, len(names))
                frame = pd.DataFrame(doc, columns=names)
            else:
                raise InvalidInput(
                    "expected records (objects) or rows (arrays) for the DataFrame input; "
                    f"got a mix starting with {_kind(doc[0])}"
                )
        elif isinstance(doc, Mapping) and "columns" in doc and "data" in doc:
            columns, rows = doc["columns"], doc["data"]
            if not isinstance(columns, list) or not isinstance(rows, list):
                raise InvalidInput('"columns" and "data" must be arrays in a split request')
            _row_lengths(rows, len(columns))
            frame = pd.DataFrame(rows, columns=[str(c) for c in columns])
        elif isinstance(doc, Mapping):
            lengths = {k: len(v) if isinstance(v, list) else -1 for k, v in doc.items()}
            bad = [k for k, n in lengths.items() if n < 0]
            if bad:
                raise InvalidInput(
                    f'column "{bad[0]}" must be an array of values, one per row '
                    "(or send records: a JSON array of objects)"
                )
            if len(set(lengths.values())) > 1:
                raise InvalidInput(
                    "the columns have different lengths: "
                    + ", ".join(f"{k}: {n}" for k, n in list(lengths.items())[:6])
                )
            frame = pd.DataFrame(dict(doc))
        else:
            raise InvalidInput(
                f"expected records, columns or rows for the DataFrame input, got {_kind(doc)}"
            )
    except (ValueError, TypeError) as e:
        raise InvalidInput(f"the request is not a table ({_first(e)})") from None
    return _cast_columns(frame, sig)


_NUMERIC = {"i": "iub", "u": "iub", "f": "iubf", "b": "b"}  # JSON arrays that fit a column kind


_NUMBERS = {int, float}
_BOOL = {bool}
_INDEXES: dict[tuple[str, ...], Any] = {}
# Per signature (by identity; the signature is kept so an id is never reused wrongly): each
# column's name, numpy dtype, the JSON array kinds that fit it, and whether NaN is refused
# there; None where a column is not numeric. Whether the built frame is exactly what
# ``validate`` would return (every dtype spelled as numpy spells it) comes with it.
_PLANS: dict[int, tuple[Signature, Any]] = {}


def _plan(sig: Signature) -> Any:
    entry = _PLANS.get(id(sig))
    if entry is not None and entry[0] is sig:
        return entry[1]
    import numpy as np

    plan: Any = None
    names = [c.name for c in sig.columns]
    if names and len(set(names)) == len(names):
        columns: list[tuple[str, Any, str, bool]] | None = []
        exact = True
        for col in sig.columns:
            try:
                want = np.dtype(col.dtype)
            except TypeError:  # pandas' own dtypes (Int64, category...): the general path
                columns = None
                break
            fits = _NUMERIC.get(want.kind)
            if fits is None or columns is None:
                columns = None
                break
            exact = exact and str(want) == col.dtype
            columns.append((col.name, want, fits, want.kind == "f" and col.missing is False))
        if columns is not None:
            plan = (tuple(columns), exact)
    if len(_PLANS) > 256:
        _PLANS.clear()
    _PLANS[id(sig)] = (sig, plan)
    return plan


def _records_fast(doc: Any, sig: Signature) -> tuple[Any, bool] | None:
    """Records with exactly the signature's numeric columns, as one DataFrame built from
    arrays of the right dtypes, and whether it is already what ``validate`` returns for it
    (then it need not be checked again); None for anything else (the general path then reads
    it and names what is wrong). Values are never truncated: 1.5 is not read into an int
    column. NaN (JSON's ``NaN``) in a column whose sample had none goes the general way,
    which refuses it by name."""
    if not isinstance(doc, list) or not doc or not sig.columns:
        return None
    plan = _plan(sig)
    if plan is None:
        return None
    columns, exact = plan
    import numpy as np

    width = len(columns)
    arrays: dict[str, Any] = {}
    try:
        for name, want, fits, no_nan in columns:
            column = [r[name] for r in doc]
            types = set(map(type, column))
            if not (types <= _NUMBERS or types == _BOOL):  # pandas reads a mix as objects
                return None
            values = np.asarray(column)
            if values.ndim != 1 or values.dtype.kind not in fits:
                return None
            if values.dtype.kind in "iu" and want.kind in "iu" and not _fits(values, want, np):
                return None  # out of the column's range: the general path names it
            values = values.astype(want, copy=False)
            if no_nan and np.isnan(values).any():
                return None
            arrays[name] = values
        if any(len(r) != width for r in doc):
            return None
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    import pandas as pd

    names = tuple(arrays)
    index = _INDEXES.get(names)
    if index is None:  # an object Index, made once: pandas 3 would infer Arrow strings each time
        index = _INDEXES[names] = pd.Index(list(names), dtype=object)
    dtypes = {a.dtype for a in arrays.values()}
    if len(dtypes) == 1:  # one block: a fraction of the cost of a frame built column by column
        frame = pd.DataFrame(np.column_stack(list(arrays.values())), columns=index, copy=False)
    else:
        frame = pd.DataFrame(arrays, columns=index, copy=False)
    return frame, exact


def _fits(values: Any, want: Any, np: Any) -> bool:
    """Whether integers ``values`` all fit the integer dtype ``want`` (then the cast is
    lossless, as a safe cast is)."""
    if values.dtype == want or np.can_cast(values.dtype, want, "safe"):
        return True
    if not values.size:
        return True
    info = np.iinfo(want)
    return bool(info.min <= int(values.min()) and int(values.max()) <= info.max)


def _numpy_int(dtype: str, np: Any) -> Any:
    try:
        target = np.dtype(dtype)
    except TypeError:
        return None
    return target if target.kind in "iu" else None


def _row_lengths(rows: list[Any], width: int) -> None:
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            got = len(row) if isinstance(row, list) else _kind(row)
            raise InvalidInput(f"row {i} has {got} values; expected {width} (one per column)")


def _cast_columns(frame: Any, sig: Signature) -> Any:
    """JSON has no dtypes: a column of whole numbers where the model wants floats, or of
    strings where it wants categories, becomes what the signature says before validation."""
    for col in sig.columns:
        if col.name not in frame.columns:
            continue  # validate names the missing ones
        want = col.dtype
        have = str(frame[col.name].dtype)
        if have == want:
            continue
        try:
            widen = want.startswith(("float", "Float")) and have.startswith(
                ("int", "float", "bool")
            )
            if widen or want == "category" or want.startswith(("datetime", "string")):
                frame[col.name] = frame[col.name].astype(want)
            elif want.startswith(("int", "Int", "uint", "UInt")) and have.startswith("float"):
                values = frame[col.name]
                if values.notna().all() and (values % 1 == 0).all():
                    frame[col.name] = values.astype(want)
            elif want.startswith(("int", "uint")) and have.startswith(("int", "uint")):
                # JSON integers are read as int64 (uint64 past it): into a narrower integer
                # column when every value fits (the records fast path does the same)
                import numpy as np

                target = _numpy_int(want, np)
                if target is not None and _fits(frame[col.name].to_numpy(), target, np):
                    frame[col.name] = frame[col.name].astype(target)
        except (ValueError, TypeError) as e:
            raise SignatureError(
                f'column "{col.name}" cannot be read as {want} ({_first(e)})'
            ) from None
    return frame


def _numpy_dtype(dtype: str | None) -> Any:
    if dtype is None:
        return None
    return dtype.removeprefix("torch.")


def _array(doc: Any, sig: Signature) -> Any:
    import numpy as np

    if not isinstance(doc, list):
        raise InvalidInput(f"expected a JSON array for the {sig.kind} input, got {_kind(doc)}")
    if not doc:
        raise InvalidInput("the request has no rows; send at least one")
    dtype = _numpy_dtype(sig.dtype)
    try:
        arr = np.asarray(doc, dtype=dtype if dtype not in (None, "bfloat16") else None)
    except (ValueError, TypeError, OverflowError) as e:
        want = f" of {dtype}" if dtype else ""
        raise SignatureError(f"the input is not a rectangular array{want} ({_first(e)})") from None
    if sig.kind == "tensor":
        import torch

        return torch.as_tensor(arr)
    return arr


# -- answers ----------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """A method's result as plain JSON values (NaN and infinities become None)."""
    mod = type(value).__module__
    if mod.startswith("numpy") and hasattr(value, "tolist"):
        if getattr(value, "dtype", None) is not None and value.dtype.kind in "fc":
            import numpy as np

            if value.size and not np.isfinite(value).all():
                return _finite(value.tolist())
        return value.tolist()
    if mod.startswith("pandas"):
        if hasattr(value, "to_dict") and hasattr(value, "columns"):
            return _finite(value.to_dict(orient="records"))
        if hasattr(value, "tolist"):
            return _finite(value.tolist())
    if mod.startswith("torch"):
        return jsonable(value.detach().cpu().numpy())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # sparse matrices, other array-likes
        todense = getattr(value, "toarray", None)
        return jsonable(todense() if callable(todense) else value.tolist())
    return value


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def encode(result: Any) -> bytes:
    return json.dumps({"predictions": jsonable(result)}, separators=(",", ":")).encode()


def to_json(data: Any) -> Any:
    """A client's input as the JSON body's value (DataFrames as split, arrays as lists)."""
    if hasattr(data, "columns") and hasattr(data, "to_dict"):
        return {
            "dataframe_split": {
                "columns": [str(c) for c in data.columns],
                "data": jsonable(data.to_numpy(dtype=object)),
            }
        }
    return {"inputs": jsonable(data)}


def from_json(value: Any, sig: Signature) -> Any:
    """An answer's ``predictions`` as the type the local model returns."""
    kind = sig.kind
    if kind in ("ndarray", "sparse"):
        import numpy as np

        dtype = _numpy_dtype(sig.dtype)
        if isinstance(value, list) and _has_none(value) and dtype and dtype.startswith("float"):
            return np.asarray(_nan(value), dtype=dtype)
        return np.asarray(value, dtype=dtype)
    if kind == "tensor":
        import torch

        return torch.as_tensor(from_json(value, Signature("ndarray", dtype=sig.dtype)))
    if kind == "dataframe":
        import pandas as pd

        frame = pd.DataFrame.from_records(value, columns=[c.name for c in sig.columns] or None)
        for c in sig.columns:
            with contextlib.suppress(ValueError, TypeError, KeyError):
                frame[c.name] = frame[c.name].astype(c.dtype)
        return frame
    if kind == "series":
        import pandas as pd

        return pd.Series(value, dtype=sig.dtype)
    return value


def _has_none(value: list[Any]) -> bool:
    return any(_has_none(v) if isinstance(v, list) else v is None for v in value)


def _nan(value: Any) -> Any:
    if isinstance(value, list):
        return [_nan(v) for v in value]
    return math.nan if value is None else value
