"""Input/output signatures: inferred from a sample, checked (and safely cast) before each call.

Kinds: ``dataframe`` (ordered columns with dtypes), ``series``, ``ndarray`` and ``tensor`` (dtype,
shape with the batch dimension as ``None``), ``sparse``, ``list`` (of one item signature),
``dict`` (named fields), ``scalar`` (``int``/``float``/``bool``/``str``/``bytes`` or a numpy
dtype) and ``unknown`` (checks nothing). numpy, pandas and torch are never imported here unless
the data already is one of their objects (we look them up in ``sys.modules``).

Missing values (NaN, None, ``pd.NA``, NaT) are accepted in a DataFrame column, a Series, an
array or a tensor only where the sample had some: ``missing`` records that (``None``, in
signatures saved before it was recorded, accepts them). A batch with no rows is refused.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import SignatureError

KINDS = (
    "dataframe",
    "series",
    "ndarray",
    "tensor",
    "sparse",
    "list",
    "dict",
    "scalar",
    "unknown",
)
PY_SCALARS = {"bool": bool, "int": int, "float": float, "str": str, "bytes": bytes}
_LIST_SAMPLE = 1000  # items looked at when inferring a list's item signature


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str
    missing: bool | None = None  # the sample had missing values here; None: not recorded


@dataclass(frozen=True)
class Signature:
    """One value's shape and types; the default (``unknown``) accepts anything."""

    kind: str = "unknown"
    dtype: str | None = None
    shape: tuple[int | None, ...] | None = None
    columns: tuple[Column, ...] = ()
    fields: tuple[tuple[str, Signature], ...] = ()
    item: Signature | None = None
    type: str | None = None  # the Python type's name, for ``unknown``
    # series, ndarray, tensor: the sample had missing values (NaN...); None: not recorded.
    missing: bool | None = None

    # -- (de)serialising --------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"kind": self.kind}
        if self.dtype is not None:
            doc["dtype"] = self.dtype
        if self.shape is not None:
            doc["shape"] = list(self.shape)
        if self.kind == "dataframe":
            doc["columns"] = [_column_dict(c) for c in self.columns]
        if self.kind == "dict":
            doc["fields"] = {name: sig.to_dict() for name, sig in self.fields}
        if self.item is not None:
            doc["item"] = self.item.to_dict()
        if self.type is not None:
            doc["type"] = self.type
        if self.missing is not None:
            doc["missing"] = self.missing
        return doc

    @classmethod
    def from_dict(cls, doc: Any) -> Signature:
        if doc is None:
            return cls()
        if not isinstance(doc, Mapping):
            raise ValueError(f"a signature must be a mapping, not {type(doc).__name__}")
        kind = str(doc.get("kind", "unknown"))
        if kind not in KINDS:
            raise ValueError(f"unknown signature kind {kind!r}")
        shape = doc.get("shape")
        if shape is not None and not isinstance(shape, list):
            raise ValueError(f"a signature's shape must be a list, not {type(shape).__name__}")
        columns = doc.get("columns") or []
        fields = doc.get("fields") or {}
        if not isinstance(columns, list) or not isinstance(fields, Mapping):
            raise ValueError("a signature's columns must be a list and its fields a mapping")
        return cls(
            kind=kind,
            dtype=None if doc.get("dtype") is None else str(doc["dtype"]),
            shape=None if shape is None else tuple(_dim(d) for d in shape),
            columns=tuple(
                Column(str(c["name"]), str(c["dtype"]), _missing(c.get("missing"))) for c in columns
            ),
            fields=tuple((str(k), cls.from_dict(v)) for k, v in fields.items()),
            item=None if doc.get("item") is None else cls.from_dict(doc["item"]),
            type=None if doc.get("type") is None else str(doc["type"]),
            missing=_missing(doc.get("missing")),
        )

    def describe(self) -> str:
        """A short human form: ``DataFrame[age: int64, city: object]``, ``ndarray[float64, (*, 4)]``."""
        k = self.kind
        if k == "dataframe":
            return "DataFrame[" + ", ".join(f"{c.name}: {c.dtype}" for c in self.columns) + "]"
        if k in ("ndarray", "tensor", "sparse"):
            return f"{k}[{self.dtype}, {_shape_text(self.shape)}]"
        if k == "series":
            return f"Series[{self.dtype}]"
        if k == "list":
            return f"list[{self.item.describe() if self.item else 'any'}]"
        if k == "dict":
            return "dict{" + ", ".join(f"{n}: {s.describe()}" for n, s in self.fields) + "}"
        if k == "scalar":
            return str(self.dtype)
        return f"unknown ({self.type})" if self.type else "any"


def _column_dict(c: Column) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": c.name, "dtype": c.dtype}
    if c.missing is not None:
        doc["missing"] = c.missing
    return doc


def _dim(d: object) -> int | None:
    if d is None:
        return None
    if isinstance(d, bool) or not isinstance(d, int) or d < 0:
        raise ValueError(f"a dimension must be a size or null, not {d!r:.40}")
    return d


def _missing(value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ValueError(f"missing must be true or false, not {value!r:.40}")


def _shape_text(shape: tuple[int | None, ...] | None) -> str:
    if shape is None:
        return "any shape"
    dims = ", ".join("*" if d is None else str(d) for d in shape)
    return f"({dims},)" if len(shape) == 1 else f"({dims})"


# -- what the data is, without importing anything ----------------------------------------


def _mod(name: str) -> Any:
    return sys.modules.get(name)


def _is_dataframe(data: Any) -> bool:
    pd = _mod("pandas")
    return pd is not None and isinstance(data, pd.DataFrame)


def _is_series(data: Any) -> bool:
    pd = _mod("pandas")
    return pd is not None and isinstance(data, pd.Series)


def _is_ndarray(data: Any) -> bool:
    np = _mod("numpy")
    return np is not None and isinstance(data, np.ndarray)


def _is_np_scalar(data: Any) -> bool:
    np = _mod("numpy")
    return np is not None and isinstance(data, np.generic)


def _is_tensor(data: Any) -> bool:
    torch = _mod("torch")
    return torch is not None and isinstance(data, torch.Tensor)


def _is_sparse(data: Any) -> bool:
    sp = _mod("scipy.sparse")
    return sp is not None and bool(sp.issparse(data))


def _batch_shape(shape: tuple[int, ...]) -> tuple[int | None, ...]:
    return (None, *(int(d) for d in shape[1:])) if shape else ()


def _torch_dtype(t: Any) -> str:
    return str(t.dtype).removeprefix("torch.")


# -- inference --------------------------------------------------------------------------


def infer(data: Any) -> Signature:
    """The signature of a sample; the first dimension of arrays is the batch (``None``)."""
    if _is_dataframe(data):
        gaps = data.isna().any(axis=0).tolist()
        return Signature(
            "dataframe",
            columns=tuple(
                Column(str(c), str(t), bool(g))
                for (c, t), g in zip(data.dtypes.items(), gaps, strict=True)
            ),
        )
    if _is_series(data):
        return Signature("series", dtype=str(data.dtype), missing=_count_missing(data) > 0)
    if _is_ndarray(data):
        return Signature(
            "ndarray",
            dtype=str(data.dtype),
            shape=_batch_shape(data.shape),
            missing=_count_missing(data) > 0,
        )
    if _is_tensor(data):
        return Signature(
            "tensor",
            dtype=_torch_dtype(data),
            shape=_batch_shape(tuple(data.shape)),
            missing=_count_missing(data) > 0,
        )
    if _is_sparse(data):
        return Signature("sparse", dtype=str(data.dtype), shape=_batch_shape(data.shape))
    if _is_np_scalar(data):
        return Signature("scalar", dtype=str(data.dtype))
    for name, cls in PY_SCALARS.items():  # bool first: it is an int too
        if isinstance(data, cls):
            return Signature("scalar", dtype=name)
    if isinstance(data, (list, tuple)):
        return Signature("list", item=_common([infer(x) for x in data[:_LIST_SAMPLE]]))
    if isinstance(data, Mapping):
        return Signature("dict", fields=tuple((str(k), infer(v)) for k, v in data.items()))
    return Signature("unknown", type=_type_name(data))


def _count_missing(data: Any) -> int:
    """Missing values (NaN, None, pd.NA, NaT) in a Series, an ndarray or a tensor."""
    if _is_series(data):
        return int(data.isna().sum())
    if _is_tensor(data):
        if not (data.is_floating_point() or data.is_complex()):
            return 0
        return int(data.isnan().sum())
    np = _mod("numpy")
    kind = data.dtype.kind
    if kind in "fc":
        return int(np.isnan(data).sum())
    if kind in "mM":
        return int(np.isnat(data).sum())
    if kind == "O":
        pd = _mod("pandas")
        if pd is not None:
            return int(pd.isna(data).sum())
        return sum(1 for x in data.flat if x is None or x != x)  # NaN is not equal to itself
    return 0


def _type_name(data: Any) -> str:
    cls = type(data)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )


def _common(items: list[Signature]) -> Signature:
    """One signature for every item of a list; ints and floats mixed make floats."""
    if not items:
        return Signature()
    first = items[0]
    if all(s == first for s in items):
        return first
    if all(s.kind == "scalar" and s.dtype in ("int", "float") for s in items):
        return Signature("scalar", dtype="float")
    if all(s.kind == "list" for s in items):
        return Signature("list", item=_common([s.item or Signature() for s in items]))
    return Signature()


# -- validation -------------------------------------------------------------------------


def validate(sig: Signature, data: Any, where: str = "input") -> Any:
    """``data`` checked against ``sig`` (SignatureError naming what is wrong), safely cast."""
    check = _CHECKS.get(sig.kind)
    return data if check is None else check(sig, data, where)


def _what(data: Any) -> str:
    if _is_dataframe(data):
        return "a DataFrame"
    if _is_ndarray(data):
        return f"an ndarray of {data.dtype} with shape {tuple(data.shape)}"
    return f"{type(data).__name__}"


def _names(items: list[str]) -> str:
    return ", ".join(repr(x) for x in items)


def _plural(items: list[str], word: str) -> str:
    return word if len(items) == 1 else word + "s"


def _dtype_verdict(actual: str, expected: str) -> str:
    """``ok``, ``cast`` (lossless: int -> float, float32 -> float64 ...) or ``bad``."""
    if actual == expected:
        return "ok"
    textual = ("object", "string", "str", "category")
    if expected in textual:
        return "cast" if actual in textual or actual.startswith("<U") else "bad"
    if actual.lower() == expected.lower():  # pandas' nullable Int64 and numpy's int64
        return "cast"
    np = _mod("numpy")
    if np is None:
        return "bad"
    try:
        a, e = np.dtype(actual), np.dtype(expected)
    except TypeError:
        return "bad"
    if a.kind == e.kind == "M":  # datetimes in another unit
        return "cast"
    return "cast" if np.can_cast(a, e, "safe") else "bad"


def _check_dataframe(sig: Signature, data: Any, where: str) -> Any:
    expected = [c.name for c in sig.columns]
    if not _is_dataframe(data):
        if isinstance(data, (Mapping, list)):
            import pandas as pd

            try:
                data = pd.DataFrame(data)
            except (ValueError, TypeError) as e:
                raise SignatureError(
                    f"{where}: cannot make a DataFrame of it ({e}); "
                    f"pass a DataFrame with columns {_names(expected)}"
                ) from e
        else:
            raise SignatureError(
                f"{where}: expected a pandas DataFrame with columns {_names(expected)}, "
                f"got {_what(data)}"
            )
    _no_rows(len(data), where)
    actual = [str(c) for c in data.columns]
    doubled = sorted({c for c in actual if actual.count(c) > 1}, key=actual.index)
    if doubled:
        raise SignatureError(
            f"{where}: duplicated {_plural(doubled, 'column')} {_names(doubled)}; "
            "give every column one name"
        )
    missing = [c for c in expected if c not in actual]
    if missing:
        raise SignatureError(
            f"{where}: missing {_plural(missing, 'column')} {_names(missing)} "
            f"(the model takes {_names(expected)})"
        )
    extra = [c for c in actual if c not in expected]
    if extra:
        raise SignatureError(
            f"{where}: unexpected {_plural(extra, 'column')} {_names(extra)} "
            f"(the model takes {_names(expected)}); drop {'it' if len(extra) == 1 else 'them'} first"
        )
    by_name = {str(c): c for c in data.columns}
    if actual != expected:
        data = data[[by_name[c] for c in expected]]
    casts: dict[Any, str] = {}
    gaps = _column_gaps(data)
    types = {str(c): str(t) for c, t in data.dtypes.items()}  # one Series, not one a column
    for col in sig.columns:
        _no_missing(gaps[col.name], col.missing, where, f"column {col.name!r}")
        have = types[col.name]
        verdict = _dtype_verdict(have, col.dtype)
        if verdict == "bad":
            raise SignatureError(
                f"{where}: column {col.name!r} has dtype {have}, the model expects {col.dtype}"
            )
        if verdict == "cast":
            casts[by_name[col.name]] = col.dtype
    if not casts:
        return data
    try:
        return data.astype(casts)
    except (TypeError, ValueError) as e:  # pd.NA into int64, in a signature saved before
        for name, dtype in casts.items():  # ``missing`` was recorded: name the column
            _cast(data[name], dtype, f"{where}: column {str(name)!r}")
        raise SignatureError(f"{where}: cannot cast the columns ({_first_line(e)})") from e


def _column_gaps(data: Any) -> dict[str, int]:
    """Missing values per column; numbers are looked at as arrays (a request of a few rows
    costs microseconds, not DataFrame.isna's fraction of a millisecond)."""
    names = [str(c) for c in data.columns]
    kinds = {t.kind if type(t).__module__.startswith("numpy") else "?" for t in data.dtypes}
    if kinds <= {"i", "u", "b"}:
        return dict.fromkeys(names, 0)
    if kinds <= {"f"}:  # one array for the whole frame
        np = _mod("numpy")
        counts = np.isnan(data.to_numpy()).sum(axis=0).tolist()
        return dict(zip(names, (int(c) for c in counts), strict=True))
    gaps: dict[str, int] = {}
    for name, column in data.items():
        numpy_kind = type(column.dtype).__module__.startswith("numpy")
        kind = column.dtype.kind if numpy_kind else "?"  # pandas' nullable Int64 holds pd.NA
        if kind in "iub":
            gaps[str(name)] = 0
        elif kind in "fc":
            np = _mod("numpy")
            gaps[str(name)] = int(np.isnan(column.to_numpy()).sum())
        else:
            gaps[str(name)] = int(column.isna().sum())
    return gaps


def _check_series(sig: Signature, data: Any, where: str) -> Any:
    if not _is_series(data):
        import pandas as pd

        data = pd.Series(data)
    _no_rows(len(data), where)
    _no_missing(_count_missing(data), sig.missing, where)
    have = str(data.dtype)
    verdict = _dtype_verdict(have, str(sig.dtype))
    if verdict == "bad":
        raise SignatureError(f"{where}: dtype {have}, the model expects {sig.dtype}")
    return _cast(data, str(sig.dtype), where) if verdict == "cast" else data


def _no_rows(rows: int, where: str) -> None:
    if rows == 0:
        raise SignatureError(f"empty {where}: no rows; pass at least one")


def _batch_rows(sig: Signature, shape: tuple[int, ...], where: str) -> None:
    """Refuse an array or tensor with no rows (when its first dimension is the batch)."""
    if shape and (sig.shape is None or (len(sig.shape) > 0 and sig.shape[0] is None)):
        _no_rows(int(shape[0]), where)


def _no_missing(count: int, allowed: bool | None, where: str, what: str = "") -> None:
    """Missing values where the sample had none (``allowed`` False; None: not recorded)."""
    if count and allowed is False:
        rows = f"{count} missing {'value' if count == 1 else 'values'} (NaN/None/NA)"
        subject = f"{what} has" if what else "has"
        raise SignatureError(
            f"{where}: {subject} {rows}; the model's sample input had none there "
            "(fill them in, or save the model with a sample that has some)"
        )


def _first_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return (text[:157] + "...") if len(text) > 160 else text or type(error).__name__


def _cast(data: Any, dtype: str, where: str) -> Any:
    try:
        return data.astype(dtype)
    except (TypeError, ValueError) as e:
        raise SignatureError(f"{where}: cannot be cast to {dtype} ({_first_line(e)})") from e


def _check_shape(sig: Signature, shape: tuple[int, ...], where: str) -> None:
    if sig.shape is None:
        return
    if len(shape) != len(sig.shape):
        raise SignatureError(
            f"{where}: shape {tuple(shape)} has {len(shape)} dimensions, the model expects "
            f"{len(sig.shape)}: {_shape_text(sig.shape)} (* is the batch size)"
        )
    for axis, (have, want) in enumerate(zip(shape, sig.shape, strict=True)):
        if want is not None and have != want:
            raise SignatureError(
                f"{where}: dimension {axis} is {have}, the model expects {want} "
                f"(shape {_shape_text(sig.shape)}, got {tuple(shape)})"
            )


def _check_ndarray(sig: Signature, data: Any, where: str) -> Any:
    import numpy as np

    if not _is_ndarray(data):
        if _is_dataframe(data) or _is_series(data):
            data = data.to_numpy()
        elif _is_tensor(data):
            data = data.detach().cpu().numpy()
        else:
            # Plain Python numbers carry no width: let numpy convert them to the expected type.
            try:
                data = np.asarray(data, dtype=sig.dtype)
            except (ValueError, TypeError) as e:
                raise SignatureError(
                    f"{where}: cannot convert {type(data).__name__} to an array of {sig.dtype} ({e})"
                ) from e
    _check_shape(sig, data.shape, where)
    _batch_rows(sig, data.shape, where)
    if sig.missing is False:
        _no_missing(_count_missing(data), False, where)
    if sig.dtype is not None:
        have = str(data.dtype)
        verdict = _dtype_verdict(have, sig.dtype)
        if verdict == "bad":
            raise SignatureError(f"{where}: dtype {have}, the model expects {sig.dtype}")
        if verdict == "cast":
            data = _cast(data, sig.dtype, where)
    return data


def _check_tensor(sig: Signature, data: Any, where: str) -> Any:
    import torch

    if not _is_tensor(data):
        try:
            data = torch.as_tensor(data)
        except (ValueError, TypeError, RuntimeError) as e:
            raise SignatureError(
                f"{where}: cannot convert {type(data).__name__} to a tensor ({e})"
            ) from e
        if sig.dtype is not None and not data.is_floating_point() and "float" in sig.dtype:
            data = data.to(getattr(torch, sig.dtype))
    _check_shape(sig, tuple(data.shape), where)
    _batch_rows(sig, tuple(data.shape), where)
    if sig.missing is False:
        _no_missing(_count_missing(data), False, where)
    if sig.dtype is not None:
        have = _torch_dtype(data)
        if have != sig.dtype:
            want = getattr(torch, sig.dtype, None)
            if want is None or not torch.can_cast(data.dtype, want):
                raise SignatureError(f"{where}: dtype {have}, the model expects {sig.dtype}")
            data = data.to(want)
    return data


def _check_sparse(sig: Signature, data: Any, where: str) -> Any:
    shape = getattr(data, "shape", None)
    if shape is None:
        raise SignatureError(f"{where}: expected a sparse matrix or an array, got {_what(data)}")
    _check_shape(sig, tuple(shape), where)
    _batch_rows(sig, tuple(shape), where)
    return data


def _check_list(sig: Signature, data: Any, where: str) -> Any:
    if _is_ndarray(data) or _is_series(data):
        data = data.tolist()
    if not isinstance(data, (list, tuple)):
        raise SignatureError(f"{where}: expected a list, got {_what(data)}")
    if where == "input":  # a batch of items; a list inside one may well be empty
        _no_rows(len(data), where)
    if sig.item is None or sig.item.kind == "unknown":
        return data
    return [validate(sig.item, x, f"{where}[{i}]") for i, x in enumerate(data)]


def _check_dict(sig: Signature, data: Any, where: str) -> Any:
    if not isinstance(data, Mapping):
        raise SignatureError(
            f"{where}: expected a mapping with keys {_names([n for n, _ in sig.fields])}, "
            f"got {_what(data)}"
        )
    expected = [n for n, _ in sig.fields]
    actual = [str(k) for k in data]
    missing = [k for k in expected if k not in actual]
    if missing:
        raise SignatureError(f"{where}: missing {_plural(missing, 'key')} {_names(missing)}")
    extra = [k for k in actual if k not in expected]
    if extra:
        raise SignatureError(
            f"{where}: unexpected {_plural(extra, 'key')} {_names(extra)} "
            f"(the model takes {_names(expected)})"
        )
    by_name = {str(k): k for k in data}
    return {
        by_name[name]: validate(field_sig, data[by_name[name]], f"{where}[{name!r}]")
        for name, field_sig in sig.fields
    }


def _scalar_kind(dtype: str) -> str:
    if dtype in PY_SCALARS:
        return dtype
    np = _mod("numpy")
    if np is None:
        import numpy as np
    try:
        kind = np.dtype(dtype).kind
    except TypeError:
        return dtype
    return {"b": "bool", "i": "int", "u": "int", "f": "float", "U": "str", "S": "bytes"}.get(
        kind, dtype
    )


def _check_scalar(sig: Signature, data: Any, where: str) -> Any:
    want = _scalar_kind(str(sig.dtype))
    have = infer(data)
    if have.kind != "scalar":
        raise SignatureError(f"{where}: expected a single {sig.dtype}, got {_what(data)}")
    got = _scalar_kind(str(have.dtype))
    if got == want:
        return data
    if want == "float" and got == "int":
        return float(data)
    raise SignatureError(f"{where}: expected {sig.dtype}, got {have.dtype} ({data!r:.40})")


_CHECKS = {
    "dataframe": _check_dataframe,
    "series": _check_series,
    "ndarray": _check_ndarray,
    "tensor": _check_tensor,
    "sparse": _check_sparse,
    "list": _check_list,
    "dict": _check_dict,
    "scalar": _check_scalar,
}

__all__ = ["KINDS", "Column", "Signature", "infer", "validate"]
