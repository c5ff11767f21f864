"""The Open Inference Protocol v2 (KServe V2, Triton's HTTP/REST API) as a pure codec.

Bytes in, model input out; model output in, bytes out. Nothing here does I/O or knows the web
framework: the server hands over the request body (and the ``Inference-Header-Content-Length``
header when the binary tensor extension is used) and writes back what ``encode_response`` gives.
numpy and pandas are imported inside the functions that need them.

Decisions the protocol leaves open, as this codec takes them:

* **Datatypes.** ``datatype`` maps numpy/pandas/torch dtype text to the protocol's names; text,
  categories, bytes, dates and anything it does not recognise become ``BYTES`` (it never fails,
  so metadata can always be written). ``BF16`` has no numpy type: it is read into float32.
* **Signatures.** A dataframe is one tensor per column (``[-1]``, MLServer's ``content_type
  "pd"`` convention, also announced at the model level); an ndarray or tensor is one tensor whose
  batch and unknown dimensions are ``-1``; a series or a list is ``[-1]``; a scalar ``[1]``; a
  dict one tensor per field. An ``unknown`` signature claims ``BYTES`` ``[-1]``, the loosest
  thing the protocol can say, and its requests are taken with any datatype and shape.
* **Casting into the model's dtypes.** Any integer or float datatype goes into a float column
  (FP64 into float32 rounds). Integers go into an integer column when every value fits it.
  Floats go into an integer column only when every value is a whole number that fits (``2.0``
  yes, ``2.5`` or NaN no). BOOL goes only into bool columns, BYTES only into text, bytes and
  (ISO 8601 strings) datetime columns. Binary BYTES elements are read as UTF-8 text unless the
  model takes bytes. In JSON data, ``null`` is NaN in a float tensor and None in a BYTES
  tensor; elsewhere it is refused.
* **Outputs.** JSON cannot carry NaN or infinities: they are written as ``null`` (tritonclient
  reads ``null`` back as NaN); binary outputs carry them exactly. Dates are ISO 8601 ``BYTES``;
  a pandas nullable integer or boolean column with missing values is sent as FP64 with NaN. A
  result the protocol cannot express (None, complex numbers) is the server's fault: TypeError.

Every problem with a request is an ``InvalidInput`` (``SignatureError`` where the request is
well formed but does not fit the model) whose message is one line naming the field, e.g.
``inputs[1] "tenure": datatype FP32 does not match the model's int64 column``.
"""

from __future__ import annotations

import contextlib
import json
import math
import struct
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInput, SignatureError
from ..models.signature import Signature

INPUT_NAME = "input-0"  # the tensor name announced for a model whose input is one array
HEADER_LENGTH = "Inference-Header-Content-Length"
JSON_TYPE = "application/json"
BINARY_TYPE = "application/octet-stream"
_MAX_DIMS = 32  # numpy's limit before 2.0; no model input needs more

# OIP datatype -> numpy dtype of the arrays the codec builds
_NUMPY = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
    "BF16": "float32",  # numpy has no bfloat16: values are widened
    "BYTES": "object",
}
_INTS = frozenset(("UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64"))
_FLOATS = frozenset(("FP16", "FP32", "FP64", "BF16"))

# dtype text (lower case) -> OIP datatype, for the names that need no numpy to resolve
_BY_NAME = {
    "bool": "BOOL",
    "bool_": "BOOL",
    "boolean": "BOOL",
    "uint8": "UINT8",
    "uint16": "UINT16",
    "uint32": "UINT32",
    "uint64": "UINT64",
    "int8": "INT8",
    "int16": "INT16",
    "short": "INT16",
    "int32": "INT32",
    "int64": "INT64",
    "int": "INT64",
    "long": "INT64",
    "float16": "FP16",
    "half": "FP16",
    "float32": "FP32",
    "float64": "FP64",
    "float": "FP64",  # Python's and numpy's float; torch spells its float32 "float32"
    "double": "FP64",
    "bfloat16": "BF16",
    "object": "BYTES",
    "str": "BYTES",
    "string": "BYTES",
    "category": "BYTES",
    "bytes": "BYTES",
}


def datatype(dtype: str) -> str:
    """The OIP datatype for numpy/pandas/torch dtype text; ``BYTES`` for anything else."""
    text = str(dtype).strip().removeprefix("torch.")
    low = text.lower()
    known = _BY_NAME.get(low)
    if known is not None:
        return known
    if low.startswith(("string[", "datetime64", "timedelta64")):
        return "BYTES"
    np = _numpy()
    try:
        dt = np.dtype(text)
    except (TypeError, ValueError):
        return "BYTES"
    return _datatype_of(dt)


def numpy_dtype(datatype: str) -> str:
    """The numpy dtype an OIP datatype is read into (``BF16``: float32, ``BYTES``: object)."""
    found = _NUMPY.get(datatype) if isinstance(datatype, str) else None
    if found is None:
        raise InvalidInput(f"datatype {_show(datatype)}: expected one of {', '.join(_NUMPY)}")
    return found


def _datatype_of(dt: Any) -> str:
    kind, size = dt.kind, dt.itemsize
    if kind == "b":
        return "BOOL"
    if kind in "iu" and size in (1, 2, 4, 8):
        return f"{'INT' if kind == 'i' else 'UINT'}{size * 8}"
    if kind == "f":
        return {2: "FP16", 4: "FP32"}.get(size, "FP64")
    return "BYTES"


# -- metadata --------------------------------------------------------------------------------


def tensors(sig: Signature, *, default_name: str) -> list[dict[str, Any]]:
    """The OIP tensor metadata (name, datatype, shape) of a signature.

    A dataframe gives one ``[-1]`` entry per column and a dict one entry per field; every other
    kind one entry named ``default_name``. ``-1`` marks the batch and every unknown dimension.
    """
    if sig.kind == "dataframe":
        return [{"name": c.name, "datatype": datatype(c.dtype), "shape": [-1]} for c in sig.columns]
    if sig.kind == "dict":
        return [_entry(name, s) for name, s in sig.fields]
    return [_entry(default_name, sig)]


def _entry(name: str, sig: Signature) -> dict[str, Any]:
    return {"name": name, "datatype": _sig_datatype(sig), "shape": _sig_shape(sig)}


def _sig_datatype(sig: Signature) -> str:
    if sig.kind == "list":
        return _sig_datatype(sig.item) if sig.item is not None else "BYTES"
    if sig.kind in ("dataframe", "dict") or sig.dtype is None:
        return "BYTES"
    return datatype(sig.dtype)


def _dims(shape: tuple[int | None, ...]) -> list[int]:
    return [-1 if d is None else d for d in shape]


def _sig_shape(sig: Signature) -> list[int]:
    if sig.kind in ("ndarray", "tensor", "sparse") and sig.shape is not None:
        return _dims(sig.shape)
    if sig.kind == "scalar":
        return [1]
    item = sig.item
    if (
        sig.kind == "list"
        and item is not None
        and item.kind in ("ndarray", "tensor")
        and item.shape is not None
    ):
        return [-1, *_dims(item.shape)]
    return [-1]


def model_metadata(
    name: str,
    *,
    versions: list[str],
    platform: str,
    inputs: Signature,
    outputs: Signature,
    output_name: str,
    parameters: dict[str, Any] | None = None,
    input_name: str = INPUT_NAME,
) -> dict[str, Any]:
    """The body of ``GET /v2/models/{name}``; a dataframe input adds ``content_type: "pd"``."""
    doc: dict[str, Any] = {
        "name": name,
        "versions": list(versions),
        "platform": platform,
        "inputs": tensors(inputs, default_name=input_name),
        "outputs": tensors(outputs, default_name=output_name),
    }
    params = dict(parameters or {})
    if inputs.kind == "dataframe":
        params.setdefault("content_type", "pd")
    if params:
        doc["parameters"] = params
    return doc


# -- requests --------------------------------------------------------------------------------


@dataclass
class InferRequest:
    """A decoded ``/infer`` request.

    ``data`` is what the model's method gets: a DataFrame (dataframe signature, or the request's
    ``parameters.content_type`` is ``"pd"``), a dict of arrays (dict signature), one Python
    value (scalar signature), else one numpy array. ``outputs`` are the names asked for (empty:
    all); ``binary_outputs`` is True for "every output binary" or the names to send binary.
    """

    id: str | None
    data: Any
    outputs: list[str] = field(default_factory=list)
    binary_outputs: bool | set[str] = False
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Tensor:
    label: str  # inputs[0] "age"
    name: str
    datatype: str
    shape: list[int]
    array: Any  # numpy array of numpy_dtype(datatype), already in ``shape``
    raw_bytes: bool  # BYTES elements are bytes (binary extension), not str (JSON)


def decode_request(body: bytes, *, header_length: int | None, signature: Signature) -> InferRequest:
    """Parse an ``/infer`` body (JSON, or JSON header plus binary tensors) for ``signature``."""
    header, binary = _split(body, header_length)
    doc = _parse_json(header)
    if not isinstance(doc, dict):
        raise _invalid(f"request body: expected a JSON object, got {_kind(doc)}")
    rid = doc.get("id")
    if rid is not None and not isinstance(rid, str):
        raise _invalid(f"id: expected a string, got {_kind(rid)}")
    params = _object(doc.get("parameters"), "parameters")
    raw_inputs = doc.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        got = "nothing" if raw_inputs is None else _kind(raw_inputs)
        if isinstance(raw_inputs, list):
            got = "an empty list"
        raise _invalid(f"inputs: expected a non-empty list of input tensors, got {got}")
    if header_length is None and signature.kind == "dataframe":
        fast = _plain_columns(raw_inputs, signature)
        if fast is not None:
            outputs, binary_outputs = _requested(doc.get("outputs"), params)
            return InferRequest(
                id=rid, data=fast, outputs=outputs, binary_outputs=binary_outputs, parameters=params
            )
    found: list[_Tensor] = []
    seen: dict[str, int] = {}
    offset = 0
    for i, item in enumerate(raw_inputs):
        tensor, offset = _input(i, item, binary, offset, header_length is not None)
        if tensor.name in seen:
            raise _invalid(f"{tensor.label}: given twice (also inputs[{seen[tensor.name]}])")
        seen[tensor.name] = i
        found.append(tensor)
    if offset != len(binary):
        raise _invalid(
            f"binary data: the inputs' parameters.binary_data_size add up to {offset} bytes, "
            f"the body carries {len(binary)} after the JSON header"
        )
    outputs, binary_outputs = _requested(doc.get("outputs"), params)
    if signature.kind == "dataframe":
        data: Any = _dataframe(found, signature)
    elif params.get("content_type") == "pd":
        data = _dataframe(found, None)
    elif signature.kind == "dict":
        data = _fields(found, signature)
    else:
        if len(found) > 1:
            names = ", ".join(_q(t.name) for t in found)
            raise SignatureError(
                f"inputs: {len(found)} inputs ({names}), the model takes one "
                f"({signature.describe()}); send one input, or one per column with "
                'parameters.content_type "pd"'
            )
        data = _single(found[0], signature)
    return InferRequest(
        id=rid, data=data, outputs=outputs, binary_outputs=binary_outputs, parameters=params
    )


# The column dtypes whose JSON tensors ``_plain_columns`` reads, and the datatype each takes.
_PLAIN = {"float64": ("FP64", "if"), "int64": ("INT64", "i")}
_PLAIN_KEYS = frozenset(("name", "shape", "datatype", "data"))


def _plain_columns(raw_inputs: list[Any], sig: Signature) -> Any:
    """The frame :func:`_dataframe` makes, for the common request only: one JSON input per
    column of the signature, each exactly ``{name, shape: [rows], datatype, data}`` with the
    column's own datatype (FP64 for float64, INT64 for int64) and a flat list of numbers that
    numpy reads as such. None for anything else, which the general path reads (or refuses
    with its message); ``tests/serve/test_oip_codec.py`` checks the two give the same frame."""
    columns = sig.columns
    if len(raw_inputs) != len(columns):
        return None
    by_name: dict[str, Any] = {}
    for item in raw_inputs:
        if type(item) is not dict or item.keys() != _PLAIN_KEYS:
            return None
        name = item["name"]
        if type(name) is not str or name in by_name:
            return None
        by_name[name] = item
    np = _numpy()
    arrays: dict[str, Any] = {}
    rows = None
    for col in columns:
        item = by_name.get(col.name)
        plain = _PLAIN.get(col.dtype)
        if item is None or plain is None or item["datatype"] != plain[0]:
            return None
        data, shape = item["data"], item["shape"]
        if type(data) is not list or type(shape) is not list or len(shape) != 1:
            return None
        n = shape[0]
        if type(n) is not int or n != len(data) or n == 0 or (rows is not None and n != rows):
            return None
        rows = n
        try:
            arr = np.array(data)
        except (ValueError, TypeError, OverflowError):
            return None
        if arr.ndim != 1 or arr.dtype.kind not in plain[1] or arr.dtype.itemsize != 8:
            return None
        arrays[col.name] = arr if arr.dtype == col.dtype else arr.astype(col.dtype)
    return _frame(arrays)


def _split(body: bytes, header_length: int | None) -> tuple[bytes, memoryview]:
    """The JSON header and a view of the binary tensors after it (no copy of them)."""
    if header_length is None:
        return body, memoryview(b"")
    if isinstance(header_length, bool) or not isinstance(header_length, int):
        raise _invalid(f"{HEADER_LENGTH}: expected a number of bytes, got {_show(header_length)}")
    if header_length <= 0 or header_length > len(body):
        raise _invalid(
            f"{HEADER_LENGTH}: {header_length} is not within the body's {len(body)} bytes"
        )
    view = memoryview(body)
    return bytes(view[:header_length]), view[header_length:]


def _parse_json(header: bytes) -> Any:
    try:
        return json.loads(header)
    except RecursionError:
        raise _invalid("request body: JSON nested too deeply") from None
    except UnicodeDecodeError as e:
        raise _invalid(f"request body: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except ValueError as e:  # JSONDecodeError, and integers with too many digits
        raise _invalid(f"request body: not valid JSON ({_first_line(e)})") from None


def _object(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _invalid(f"{where}: expected an object, got {_kind(value)}")
    return value


def _input(
    i: int, item: Any, binary: memoryview, offset: int, extension: bool
) -> tuple[_Tensor, int]:
    label = f"inputs[{i}]"
    if not isinstance(item, dict):
        raise _invalid(
            f"{label}: expected an object with name, shape, datatype and data, got {_kind(item)}"
        )
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise _invalid(f"{label}: name: expected a non-empty string, got {_kind(name)}")
    label = f"{label} {_q(name)}"
    dt = item.get("datatype")
    if not isinstance(dt, str) or dt not in _NUMPY:
        raise _invalid(f"{label}: datatype {_show(dt)}: expected one of {', '.join(_NUMPY)}")
    shape = _shape(label, item.get("shape"))
    count = math.prod(shape)
    if shape and shape[0] == 0:
        raise _invalid(f"{label}: shape {shape} has no rows; send at least one")
    params = _object(item.get("parameters"), f"{label}: parameters")
    size = params.get("binary_data_size")
    if size is not None:
        if "data" in item:
            raise _invalid(f"{label}: has both data and parameters.binary_data_size; send one")
        if not extension:
            raise _invalid(
                f"{label}: parameters.binary_data_size is set but the request has no "
                f"{HEADER_LENGTH} header"
            )
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise _invalid(
                f"{label}: parameters.binary_data_size: expected a number of bytes, "
                f"got {_show(size)}"
            )
        left = len(binary) - offset
        if size > left:
            raise _invalid(
                f"{label}: parameters.binary_data_size {size} runs past the end of the body "
                f"({left} bytes left)"
            )
        chunk = binary[offset : offset + size]
        flat, raw = _from_binary(label, dt, shape, count, chunk), True
        offset += size
    elif "data" in item:
        flat, raw = _from_json(label, dt, shape, count, item["data"]), False
    else:
        raise _invalid(
            f"{label}: no data; send data, or parameters.binary_data_size with the binary "
            "tensor extension"
        )
    return _Tensor(label, name, dt, shape, flat.reshape(shape), raw), offset


def _shape(label: str, shape: Any) -> list[int]:
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2**62 for d in shape
    ):
        raise _invalid(
            f"{label}: shape: expected a list of sizes (non-negative integers), got {_show(shape)}"
        )
    if len(shape) > _MAX_DIMS:
        raise _invalid(f"{label}: shape has {len(shape)} dimensions; at most {_MAX_DIMS}")
    if math.prod(shape) >= 2**62:
        raise _invalid(f"{label}: shape {shape} is too large")
    return shape


def _flatten(data: Any) -> list[Any]:
    """OIP data is flat row-major or nested per dimension: make it flat (without recursion)."""
    if not isinstance(data, list):
        return [data]
    if not data or not isinstance(data[0], list):
        return data  # flat; a list further on is a wrong element, which the type checks name
    out: list[Any] = []
    stack = [iter(data)]
    while stack:
        for x in stack[-1]:
            if isinstance(x, list):
                stack.append(iter(x))
                break
            out.append(x)
        else:
            stack.pop()
    return out


def _from_json(label: str, dt: str, shape: list[int], count: int, data: Any) -> Any:
    np = _numpy()
    flat = _flatten(data)
    if len(flat) != count:
        raise _invalid(f"{label}: data has {len(flat)} values, shape {shape} holds {count}")
    target = np.dtype(_NUMPY[dt])
    if dt == "BYTES":
        if not set(map(type, flat)) <= {str, type(None)}:
            for j, x in enumerate(flat):
                if x is not None and not isinstance(x, str):
                    raise _invalid(f"{label}: data[{j}] is {_show(x)}, expected a string (BYTES)")
        out = np.empty(count, dtype=object)
        out[:] = flat
        return out
    if dt == "BOOL":
        if not set(map(type, flat)) <= {bool}:
            for j, x in enumerate(flat):
                if not isinstance(x, bool):
                    raise _invalid(f"{label}: data[{j}] is {_show(x)}, expected true or false")
        return np.array(flat, dtype=bool).reshape(count)
    if not flat:
        return np.empty(0, dtype=target)
    try:
        arr = np.array(flat)
    except (ValueError, TypeError, OverflowError):
        arr = np.array([None])  # object: the element-wise pass below names the culprit
    kind = arr.dtype.kind
    if dt in _INTS:
        info = np.iinfo(target)
        if kind in "iu" and arr.ndim == 1 and arr.min() >= info.min and arr.max() <= info.max:
            return arr.astype(target)
        for j, x in enumerate(flat):
            if not isinstance(x, int) or isinstance(x, bool):
                raise _invalid(f"{label}: data[{j}] is {_show(x)}, expected an integer ({dt})")
            if not info.min <= x <= info.max:
                raise _invalid(f"{label}: data[{j}] is {_show(x)}, out of range for {dt}")
        return np.array(flat, dtype=target)
    if kind not in "iuf" or arr.ndim != 1:  # null (NaN), or something that is not a number
        values = []
        for j, x in enumerate(flat):
            if x is None:
                values.append(math.nan)
            elif isinstance(x, (int, float)) and not isinstance(x, bool):
                try:
                    values.append(float(x))
                except OverflowError:
                    raise _invalid(
                        f"{label}: data[{j}] is {_show(x)}, out of range for {dt}"
                    ) from None
            else:
                raise _invalid(f"{label}: data[{j}] is {_show(x)}, expected a number ({dt})")
        arr = np.array(values, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        return arr.astype(target)


def _from_binary(label: str, dt: str, shape: list[int], count: int, chunk: memoryview) -> Any:
    np = _numpy()
    if dt == "BYTES":
        items: list[bytes] = []
        pos, end = 0, len(chunk)
        while pos < end:
            if len(items) == count:
                raise _invalid(
                    f"{label}: binary data holds more than the {count} BYTES elements "
                    f"of shape {shape}"
                )
            if end - pos < 4:
                raise _invalid(
                    f"{label}: binary BYTES element {len(items)} has a cut-off length prefix"
                )
            (length,) = struct.unpack_from("<I", chunk, pos)
            pos += 4
            if length > end - pos:
                raise _invalid(
                    f"{label}: binary BYTES element {len(items)} claims {length} bytes, "
                    f"{end - pos} are left"
                )
            items.append(bytes(chunk[pos : pos + length]))
            pos += length
        if len(items) != count:
            raise _invalid(
                f"{label}: binary data holds {len(items)} BYTES elements, shape {shape} "
                f"holds {count}"
            )
        out = np.empty(count, dtype=object)
        out[:] = items
        return out
    width = 2 if dt == "BF16" else np.dtype(_NUMPY[dt]).itemsize
    if len(chunk) != count * width:
        raise _invalid(
            f"{label}: parameters.binary_data_size {len(chunk)} does not hold {count} {dt} "
            f"values ({count * width} bytes)"
        )
    if dt == "BOOL":
        return np.frombuffer(chunk, dtype=np.uint8) != 0
    if dt == "BF16":
        bits = np.frombuffer(chunk, dtype="<u2").astype(np.uint32) << 16
        return bits.view(np.float32)
    wire = np.dtype(_NUMPY[dt]).newbyteorder("<")
    return np.frombuffer(chunk, dtype=wire).astype(_NUMPY[dt])  # a writable native copy


def _requested(raw: Any, params: dict[str, Any]) -> tuple[list[str], bool | set[str]]:
    every = params.get("binary_data_output", False)
    if not isinstance(every, bool):
        raise _invalid(f"parameters.binary_data_output: expected true or false, got {_show(every)}")
    if raw is None:
        return [], every
    if not isinstance(raw, list):
        raise _invalid(f"outputs: expected a list of requested outputs, got {_kind(raw)}")
    names: list[str] = []
    binary: set[str] = set()
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise _invalid(f"outputs[{i}]: expected an object with a name, got {_kind(item)}")
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise _invalid(f"outputs[{i}]: name: expected a non-empty string, got {_kind(name)}")
        label = f"outputs[{i}] {_q(name)}"
        if name in names:
            raise _invalid(f"{label}: requested twice (also outputs[{names.index(name)}])")
        params_i = _object(item.get("parameters"), f"{label}: parameters")
        flag = params_i.get("binary_data", every)
        if not isinstance(flag, bool):
            raise _invalid(
                f"{label}: parameters.binary_data: expected true or false, got {_show(flag)}"
            )
        names.append(name)
        if flag:
            binary.add(name)
    if not names:
        return [], every
    return names, binary


# -- from tensors to what the model takes ------------------------------------------------------


def _dataframe(found: list[_Tensor], sig: Signature | None) -> Any:
    by_name = {t.name: t for t in found}
    if sig is not None:
        expected = [c.name for c in sig.columns]
        takes = ", ".join(_q(c) for c in expected)
        missing = [c for c in expected if c not in by_name]
        if missing:
            word = "column" if len(missing) == 1 else "columns"
            raise SignatureError(
                f"inputs: missing {word} {', '.join(_q(c) for c in missing)} "
                f"(the model takes {takes}, one input per column)"
            )
        extra = [t for t in found if t.name not in expected]
        if extra:
            what = "is not a column" if len(extra) == 1 else "are not columns"
            raise SignatureError(
                f"{', '.join(t.label for t in extra)}: {what} of the model (it takes {takes})"
            )
        order: list[tuple[_Tensor, str | None]] = [(by_name[c.name], c.dtype) for c in sig.columns]
    else:
        order = [(t, None) for t in found]
    rows: int | None = None
    first = order[0][0]
    columns: dict[str, Any] = {}
    recast: dict[str, str] = {}
    for t, dtype in order:
        if len(t.shape) not in (1, 2) or (len(t.shape) == 2 and t.shape[1] != 1):
            raise SignatureError(
                f"{t.label}: shape {t.shape}: a column has shape [rows] or [rows, 1]"
            )
        if rows is None:
            rows = t.shape[0]
        elif t.shape[0] != rows:
            raise SignatureError(
                f"{t.label}: {t.shape[0]} rows, {first.label} has {rows}; every column needs "
                "the same number"
            )
        values = _convert(t, dtype, "column").reshape(t.shape[0])
        if dtype is not None and not _textual(dtype) and str(values.dtype) != dtype:
            recast[t.name] = dtype
        columns[t.name] = values
    frame = _frame(columns)
    for name, dtype in recast.items():
        # pandas' own dtypes (Int64, boolean, datetime64[ns, UTC]) and aliases; what does not
        # cast is left for the model's signature check to name
        with contextlib.suppress(TypeError, ValueError, ImportError):
            frame[name] = frame[name].astype(dtype)
    return frame


_INDEXES: dict[tuple[str, ...], Any] = {}


def _frame(columns: dict[str, Any]) -> Any:
    """``pd.DataFrame(columns)``: columns of one numpy dtype as one block, under a column
    Index made once per set of names (pandas 3 infers a new Index's string dtype each time,
    and lays a frame of N arrays out as N blocks); the same frame, for a fraction of it."""
    pd = _pandas()
    arrays = list(columns.values())
    first = arrays[0].dtype if arrays else None
    if (
        first is None
        or first.kind not in "biufc"
        or any(a.ndim != 1 or a.dtype != first for a in arrays)
    ):
        return pd.DataFrame(columns, copy=False)
    names = tuple(columns)
    index = _INDEXES.get(names)
    if index is None:
        if len(_INDEXES) > 256:
            _INDEXES.clear()
        index = _INDEXES[names] = pd.DataFrame(dict.fromkeys(names, ()), copy=False).columns
    return pd.DataFrame(_numpy().column_stack(arrays), columns=index, copy=False)


def _fields(found: list[_Tensor], sig: Signature) -> dict[str, Any]:
    by_name = {t.name: t for t in found}
    expected = [n for n, _ in sig.fields]
    takes = ", ".join(_q(n) for n in expected)
    missing = [n for n in expected if n not in by_name]
    if missing:
        raise SignatureError(
            f"inputs: missing {', '.join(_q(n) for n in missing)} (the model takes {takes})"
        )
    extra = [t for t in found if t.name not in expected]
    if extra:
        raise SignatureError(
            f"{', '.join(t.label for t in extra)}: not an input of the model (it takes {takes})"
        )
    return {n: _single(by_name[n], s) for n, s in sig.fields}


def _single(t: _Tensor, sig: Signature) -> Any:
    kind = sig.kind
    if kind in ("ndarray", "tensor", "sparse") and sig.shape is not None:
        want = sig.shape
        fits = len(t.shape) == len(want) and all(
            w is None or w == h for h, w in zip(t.shape, want, strict=True)
        )
        if not fits:
            raise SignatureError(
                f"{t.label}: shape {t.shape} does not match the model's {_dims(want)} "
                "(-1: any size)"
            )
    if kind == "series":
        if len(t.shape) not in (1, 2) or (len(t.shape) == 2 and t.shape[1] != 1):
            raise SignatureError(f"{t.label}: shape {t.shape}: a series has shape [rows]")
        return _convert(t, sig.dtype, "input").reshape(t.shape[0])
    if kind == "scalar":
        if t.array.size != 1:
            raise SignatureError(f"{t.label}: shape {t.shape}: the model takes one value")
        value = _convert(t, sig.dtype, "input").reshape(())[()]
        return value.item() if hasattr(value, "item") else value
    if kind == "list":
        item = sig.item
        dtype = item.dtype if item is not None and item.kind != "list" else None
        return _convert(t, dtype, "input")
    if kind in ("ndarray", "tensor", "sparse", "unknown"):
        return _convert(t, sig.dtype, "input")
    return _convert(t, None, "input")


def _mismatch(t: _Tensor, dtype: str, what: str) -> SignatureError:
    return SignatureError(
        f"{t.label}: datatype {t.datatype} does not match the model's {dtype} {what} "
        f"(send {datatype(dtype)})"
    )


def _textual(dtype: str) -> bool:
    low = dtype.lower()
    return low in ("object", "str", "string", "category") or low.startswith("string[")


def _numpy_target(dtype: str) -> Any:
    """The numpy dtype a signature dtype stands for (lower case: Int64 -> int64), or None."""
    np = _numpy()
    low = dtype.lower()
    if low == "boolean":
        low = "bool"
    elif low == "bfloat16":
        low = "float32"
    for text in (dtype, low):
        try:
            return np.dtype(text)
        except (TypeError, ValueError):
            continue
    return None


def _convert(t: _Tensor, dtype: str | None, what: str) -> Any:
    """``t``'s array in the model's dtype, when the request's datatype can be taken safely."""
    np = _numpy()
    arr = t.array
    if dtype is None:
        return _text(t, strict=False) if t.datatype == "BYTES" else arr
    if _textual(dtype):
        if t.datatype != "BYTES":
            raise _mismatch(t, dtype, what)
        return _text(t, strict=True)
    target = _numpy_target(dtype)
    if target is None:  # a dtype numpy does not know (tz-aware dates, ...): let the model judge
        return _text(t, strict=False) if t.datatype == "BYTES" else arr
    kind = target.kind
    if kind in "OU":
        if t.datatype != "BYTES":
            raise _mismatch(t, dtype, what)
        return _text(t, strict=True)
    if kind == "S":
        if t.datatype != "BYTES":
            raise _mismatch(t, dtype, what)
        out = np.empty(arr.shape, dtype=object)
        for j, x in enumerate(arr.flat):
            out.flat[j] = x.encode() if isinstance(x, str) else x
        return out
    if kind in "Mm":
        if t.datatype != "BYTES":
            raise _mismatch(t, dtype, what)
        text = _text(t, strict=True)
        try:
            return np.array(text.tolist(), dtype=target)
        except (ValueError, TypeError, OverflowError) as e:
            raise SignatureError(
                f"{t.label}: not ISO 8601 date/time text for the model's {dtype} {what} "
                f"({_first_line(e)})"
            ) from None
    if kind == "b":
        if t.datatype != "BOOL":
            raise _mismatch(t, dtype, what)
        return arr
    if kind in "iu":
        if t.datatype in _INTS:
            info = np.iinfo(target)
            if arr.size and (int(arr.min()) < info.min or int(arr.max()) > info.max):
                bad = arr.min() if int(arr.min()) < info.min else arr.max()
                raise SignatureError(
                    f"{t.label}: value {bad} does not fit the model's {dtype} {what}"
                )
            return arr.astype(target)
        if t.datatype in _FLOATS:
            info = np.iinfo(target)
            with np.errstate(invalid="ignore"):
                whole = np.isfinite(arr) & (np.floor(arr) == arr)
                whole &= (arr >= info.min) & (arr < info.max + 1)  # 2**63 is no int64
            if not whole.all():
                j = int(np.flatnonzero(~whole.reshape(-1))[0])
                raise SignatureError(
                    f"{t.label}: datatype {t.datatype} does not match the model's {dtype} "
                    f"{what}: data[{j}] is {_show(float(arr.reshape(-1)[j]))}, not a whole "
                    "number that fits"
                )
            return arr.astype(target)
        raise _mismatch(t, dtype, what)
    if kind == "f":
        if t.datatype in _INTS or t.datatype in _FLOATS:
            with np.errstate(over="ignore"):
                return arr.astype(target)
        raise _mismatch(t, dtype, what)
    return _text(t, strict=False) if t.datatype == "BYTES" else arr


def _text(t: _Tensor, *, strict: bool) -> Any:
    """BYTES elements as str: binary ones decoded as UTF-8 (strict: refuse what is not)."""
    arr = t.array
    if t.datatype != "BYTES":
        return arr
    if not t.raw_bytes:
        return arr
    np = _numpy()
    out = np.empty(arr.shape, dtype=object)
    for j, x in enumerate(arr.flat):
        try:
            out.flat[j] = x.decode("utf-8")
        except UnicodeDecodeError:
            if strict:
                raise SignatureError(
                    f"{t.label}: element {j} is not UTF-8 text, and the model takes text"
                ) from None
            return arr  # bytes, then: the model may well want them
    return out


# -- responses -------------------------------------------------------------------------------


def encode_response(
    *,
    model_name: str,
    model_version: str | None,
    request_id: str | None,
    result: Any,
    output_name: str,
    binary: bool | set[str] = False,
    requested: list[str] | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The ``/infer`` response body for what the model returned, and its headers.

    A DataFrame (or a mapping) gives one output per column (key), anything else one output
    named ``output_name``. ``requested`` keeps those outputs, in that order (an unknown name is
    an InvalidInput); ``binary`` (True: all) sends outputs as raw bytes after the JSON header,
    with ``Inference-Header-Content-Length`` saying where the header ends.
    """
    named, tabular = _named_outputs(result, output_name)
    if requested:
        have = {n: v for n, v in named}
        chosen: list[tuple[str, Any]] = []
        for i, name in enumerate(requested):
            if name not in have:
                gives = ", ".join(_q(n) for n, _ in named)
                raise _invalid(
                    f"outputs[{i}] {_q(name)}: the model has no such output (it gives {gives})"
                )
            if name not in [n for n, _ in chosen]:
                chosen.append((name, have[name]))
        named = chosen
    outputs: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    for name, value in named:
        arr = _output_array(name, value)
        dt = _datatype_of(arr.dtype)
        entry: dict[str, Any] = {
            "name": name,
            "datatype": dt,
            "shape": [int(d) for d in arr.shape] or [1],
        }
        if binary is True or (isinstance(binary, set) and name in binary):
            raw = _raw(arr, dt)
            entry["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        else:
            entry["data"] = _json_values(name, arr, dt)
        outputs.append(entry)
    doc: dict[str, Any] = {"model_name": model_name}
    if model_version is not None:
        doc["model_version"] = model_version
    if request_id is not None:
        doc["id"] = request_id
    if tabular:
        doc["parameters"] = {"content_type": "pd"}
    doc["outputs"] = outputs
    header = json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()
    if not chunks:
        return header, {"Content-Type": JSON_TYPE}
    return b"".join([header, *chunks]), {
        "Content-Type": BINARY_TYPE,
        HEADER_LENGTH: str(len(header)),
    }


def _named_outputs(result: Any, output_name: str) -> tuple[list[tuple[str, Any]], bool]:
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(result, pd.DataFrame):
        names = [str(c) for c in result.columns]
        if len(set(names)) != len(names):
            raise TypeError(f"the model returned a DataFrame with duplicated columns {names}")
        return [(n, result.iloc[:, j]) for j, n in enumerate(names)], True
    if isinstance(result, Mapping):
        return [(str(k), v) for k, v in result.items()], False
    return [(output_name, result)], False


def _output_array(name: str, value: Any) -> Any:
    """What the model returned, as a numpy array whose dtype the protocol can express."""
    np = _numpy()
    pd = sys.modules.get("pandas")
    torch = sys.modules.get("torch")
    if value is None:
        raise TypeError(f"output {name!r}: the model returned None")
    if pd is not None and isinstance(value, (pd.Series, pd.Index)):
        arr = _series_array(value)
    elif torch is not None and isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.dtype == torch.bfloat16:
            value = value.float()
        arr = value.numpy()
    elif isinstance(value, np.ndarray):
        arr = value
    else:
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError):  # ragged lists: one element each
            arr = np.empty(len(value), dtype=object)
            for j, x in enumerate(value):
                arr[j] = x
    kind = arr.dtype.kind
    if kind == "f" and arr.dtype.itemsize > 8:
        return arr.astype(np.float64)
    if kind in "biufOUS":
        return arr
    if kind == "M":
        text = np.datetime_as_string(arr)
        out = np.where(np.isnat(arr), None, text.astype(object))
        return out.astype(object)
    if kind == "m":
        out = np.empty(arr.shape, dtype=object)
        for j, x in enumerate(arr.flat):
            out.flat[j] = None if np.isnat(x) else str(x)
        return out
    raise TypeError(f"output {name!r}: {arr.dtype} values have no Open Inference Protocol datatype")


def _series_array(s: Any) -> Any:
    np = _numpy()
    dtype = s.dtype
    if isinstance(dtype, np.dtype):
        return s.to_numpy()
    kind = getattr(dtype, "kind", "O")
    base = getattr(dtype, "numpy_dtype", None)
    if kind in "iub" and base is not None:
        if bool(s.isna().any()):
            return s.to_numpy(dtype=np.float64, na_value=np.nan)
        return s.to_numpy(dtype=base)
    if kind == "f" and base is not None:
        return s.to_numpy(dtype=base, na_value=np.nan)
    if kind == "M":  # tz-aware dates
        out = np.empty(len(s), dtype=object)
        for j, x in enumerate(s):
            out[j] = None if x is None or x != x else x.isoformat()
        return out
    return s.to_numpy(dtype=object, na_value=None)


def _missing(x: Any) -> bool:
    if x is None:
        return True
    if isinstance(x, float):
        return x != x
    pd = sys.modules.get("pandas")
    return pd is not None and (x is pd.NA or x is pd.NaT)


def _element_text(x: Any) -> str | bytes:
    if isinstance(x, (str, bytes)):
        return x
    if isinstance(x, bytearray):
        return bytes(x)
    if isinstance(x, (dict, list, tuple)):
        try:
            return json.dumps(x, default=str, allow_nan=False)
        except (TypeError, ValueError):
            return str(x)
    item = getattr(x, "item", None)
    if item is not None and type(x).__module__ == "numpy":
        x = item()
    return str(x)


def _json_values(name: str, arr: Any, dt: str) -> list[Any]:
    np = _numpy()
    flat = arr.reshape(-1)
    if dt == "BYTES":
        out: list[Any] = []
        for j, x in enumerate(flat.tolist()):
            if _missing(x):
                out.append(None)
                continue
            text = _element_text(x)
            if isinstance(text, bytes):
                try:
                    text = text.decode("utf-8")
                except UnicodeDecodeError:
                    raise _invalid(
                        f"outputs {_q(name)}: element {j} is not UTF-8 text, which JSON cannot "
                        "carry; request this output with parameters.binary_data true"
                    ) from None
            out.append(text)
        return out
    if arr.dtype.kind == "f":
        finite = np.isfinite(flat)
        if not finite.all():
            values = flat.astype(object)
            values[~finite] = None
            return list(values.tolist())
    return list(flat.tolist())


def _raw(arr: Any, dt: str) -> bytes:
    np = _numpy()
    if dt == "BYTES":
        parts: list[bytes] = []
        for x in arr.reshape(-1).tolist():
            data = b"" if _missing(x) else _element_text(x)
            if isinstance(data, str):
                data = data.encode("utf-8", "surrogatepass")
            parts.append(struct.pack("<I", len(data)))
            parts.append(data)
        return b"".join(parts)
    wire = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<"), copy=False)
    raw: bytes = wire.tobytes()
    return raw


# -- small helpers ---------------------------------------------------------------------------


def _numpy() -> Any:
    import numpy

    return numpy


def _pandas() -> Any:
    import pandas

    return pandas


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(message.replace("\r", " ").replace("\n", " "))


def _q(name: str) -> str:
    """A name quoted for a message, on one line, not too long."""
    if len(name) > 60:
        name = name[:57] + "..."
    return json.dumps(name)


def _show(value: Any) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _first_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return (text[:117] + "...") if len(text) > 120 else text or type(error).__name__


__all__ = [
    "BINARY_TYPE",
    "HEADER_LENGTH",
    "INPUT_NAME",
    "JSON_TYPE",
    "InferRequest",
    "datatype",
    "decode_request",
    "encode_response",
    "model_metadata",
    "numpy_dtype",
    "tensors",
]
