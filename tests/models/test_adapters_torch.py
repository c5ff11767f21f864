"""PyTorch adapter: torch.export, TorchScript, safetensors weights, and pickle only with trust."""

from __future__ import annotations

import pickle
from importlib.metadata import version as installed
from pathlib import Path

import pytest
import torch

from landmark import load_model, save_model
from landmark.errors import ConfigError, InvalidInput, SignatureError, UnsafeModel
from landmark.models.adapter import adapter_for
from landmark.models.meta import read_meta, write_meta

from .malformed import DAMAGES, check_damage, check_missing, check_unsigned


def release(dist: str) -> str:
    """The installed version without a local label (torch's "+cpu"), as requirements pin it."""
    return installed(dist).split("+", 1)[0]


class Net(torch.nn.Module):
    """A small classifier; importable, so the safetensors format can rebuild it."""

    def __init__(self, n_in: int = 4, hidden: int = 8) -> None:
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Linear(n_in, hidden), torch.nn.ReLU(), torch.nn.Dropout(0.2)
        )
        self.head = torch.nn.Linear(hidden, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.head(self.body(x)), dim=-1)


class TwoInputs(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = torch.nn.Linear(3, 2)
        self.b = torch.nn.Linear(2, 2)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.a(x) + self.b(y)


@pytest.fixture(scope="module")
def trained() -> tuple[Net, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    X = torch.randn(160, 4)
    y = (X[:, 0] > 0).long() + (X[:, 1] > 1).long()
    net = Net(hidden=8)
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(20):
        opt.zero_grad()
        loss = torch.nn.functional.nll_loss(torch.log(net(X[:120]) + 1e-9), y[:120])
        loss.backward()
        opt.step()
    net.train()  # left in training mode on purpose: saving must not export dropout
    return net, X[:120], X[120:]


def expected(net: Net, X: torch.Tensor) -> torch.Tensor:
    net.eval()
    with torch.no_grad():
        out = net(X)
    net.train()
    return out


def test_export_is_the_default_with_a_sample(tmp_path: Path, trained: tuple) -> None:
    net, X, X_test = trained
    assert adapter_for(net).name == "torch"
    meta = save_model(net, tmp_path / "m", X[:1])  # one row: the batch must stay dynamic
    assert (meta.adapter, meta.format, meta.safe) == ("torch", "export", True)
    assert [f.path for f in meta.files] == ["model.pt2"] and net.training
    spec = meta.methods["__call__"]
    assert (spec.input.kind, spec.input.dtype, spec.input.shape) == ("tensor", "float32", (None, 4))
    assert spec.output.shape == (None, 3)
    loaded = load_model(tmp_path / "m")
    torch.testing.assert_close(loaded(X_test), expected(net, X_test))
    torch.testing.assert_close(loaded(X_test[:7]), expected(net, X_test[:7]))
    torch.testing.assert_close(loaded.predict(X_test), expected(net, X_test))  # = __call__
    assert "predict" in dir(loaded) and loaded.method("predict").name == "__call__"
    # numpy in, tensor out: the signature converts
    torch.testing.assert_close(loaded(X_test.numpy()), expected(net, X_test))
    with pytest.raises(SignatureError, match="dimension 1 is 5, the model expects 4"):
        loaded(torch.randn(3, 5))
    with pytest.raises(SignatureError, match="dtype complex64, the model expects float32"):
        loaded(torch.zeros(2, 4, dtype=torch.complex64))


def test_an_exported_program_is_saved_as_it_is(tmp_path: Path, trained: tuple) -> None:
    net, X, X_test = trained
    net.eval()
    program = torch.export.export(net, (X[:8],), dynamic_shapes=({0: torch.export.Dim.AUTO},))
    net.train()
    meta = save_model(program, tmp_path / "ep", X[:8])
    assert meta.format == "export" and meta.methods["__call__"].output.shape == (None, 3)
    torch.testing.assert_close(load_model(tmp_path / "ep")(X_test), expected(net, X_test))


def test_torchscript_without_a_sample(tmp_path: Path, trained: tuple) -> None:
    net, _, X_test = trained
    meta = save_model(net, tmp_path / "ts")
    assert meta.format == "torchscript" and meta.safe
    loaded = load_model(tmp_path / "ts")
    assert isinstance(loaded.native, torch.jit.ScriptModule)
    torch.testing.assert_close(loaded(X_test), expected(net, X_test))


def test_safetensors_weights_with_the_class_path(tmp_path: Path, trained: tuple) -> None:
    net, X, X_test = trained
    meta = save_model(
        net, tmp_path / "st", X[:4], format="safetensors", options={"init_kwargs": {"hidden": 8}}
    )
    assert meta.safe and [f.path for f in meta.files] == ["model.safetensors"]
    assert meta.extra == {"class": f"{__name__}:Net", "init_kwargs": {"hidden": 8}}
    pins = {r.name.lower(): r.version for r in meta.requirements}
    assert pins["torch"] == release("torch") and pins["safetensors"] == release("safetensors")
    loaded = load_model(tmp_path / "st")
    assert type(loaded.native) is Net and not loaded.native.training
    torch.testing.assert_close(loaded(X_test), expected(net, X_test))


def test_safetensors_refuses_a_class_that_is_not_a_module(tmp_path: Path, trained: tuple) -> None:
    net, X, _ = trained
    save_model(net, tmp_path / "st", X[:4], format="safetensors")
    meta = read_meta(tmp_path / "st")
    write_meta(tmp_path / "st", meta.with_(extra={"class": "os:system", "init_kwargs": {}}))
    with pytest.raises(InvalidInput, match=r"os:system is not a torch\.nn\.Module class"):
        load_model(tmp_path / "st")


def test_pickle_needs_trust(tmp_path: Path, trained: tuple) -> None:
    net, X, X_test = trained
    meta = save_model(net, tmp_path / "p", X[:4], format="pickle")
    assert meta.format == "pickle" and not meta.safe
    with pytest.raises(UnsafeModel, match="pass trust=True"):
        load_model(tmp_path / "p")
    loaded = load_model(tmp_path / "p", trust=True)
    torch.testing.assert_close(loaded(X_test), expected(net, X_test))


class Boom:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.marker,))


def test_a_crafted_pickle_never_runs_even_if_the_metadata_says_safe(
    tmp_path: Path, trained: tuple
) -> None:
    net, X, _ = trained
    save_model(net, tmp_path / "p", X[:4], format="pickle")
    marker = tmp_path / "pwned"
    (tmp_path / "p" / "model.pth").write_bytes(pickle.dumps(Boom(marker)))
    meta = read_meta(tmp_path / "p")
    write_meta(tmp_path / "p", meta.with_(safe=True))  # an attacker edits the flag too
    with pytest.raises(UnsafeModel, match="torch pickle"):
        load_model(tmp_path / "p", verify=False)
    assert not marker.exists()


def test_several_inputs_go_in_as_a_tuple(tmp_path: Path) -> None:
    torch.manual_seed(1)
    model = TwoInputs()
    x, y = torch.randn(6, 3), torch.randn(6, 2)
    save_model(model, tmp_path / "two", (x, y))
    loaded = load_model(tmp_path / "two")
    with torch.no_grad():
        torch.testing.assert_close(loaded((x, y)), model(x, y))


def test_export_says_what_to_do_without_a_sample(tmp_path: Path, trained: tuple) -> None:
    net, _, _ = trained
    with pytest.raises(InvalidInput, match=r"torch\.export needs a sample input"):
        save_model(net, tmp_path / "m", format="export")


@pytest.mark.parametrize("how", DAMAGES)
@pytest.mark.parametrize("fmt", ["export", "torchscript", "safetensors", "pickle"])
def test_a_damaged_model_file_is_one_error(
    tmp_path: Path, trained: tuple, fmt: str, how: str
) -> None:
    net, X, _ = trained
    meta = save_model(net, tmp_path / "m", X[:4], format=fmt)
    check_damage(tmp_path / "m", meta.files[0].path, how, trust=fmt == "pickle")


def test_unsigned_damage_and_a_missing_file(tmp_path: Path, trained: tuple) -> None:
    net, X, _ = trained
    save_model(net, tmp_path / "a", X[:4])
    check_unsigned(tmp_path / "a", "model.pt2")
    save_model(net, tmp_path / "b", X[:4])
    check_missing(tmp_path / "b", "model.pt2")


def test_init_kwargs_that_do_not_fit_are_a_config_error(tmp_path: Path, trained: tuple) -> None:
    net, X, _ = trained
    save_model(net, tmp_path / "st", X[:4], format="safetensors")
    meta = read_meta(tmp_path / "st")
    write_meta(tmp_path / "st", meta.with_(extra={**meta.extra, "init_kwargs": {"nope": 1}}))
    with pytest.raises(ConfigError, match=r"init_kwargs in landmark\.yaml do not fit Net"):
        load_model(tmp_path / "st")
