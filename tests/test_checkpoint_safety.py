"""Checkpoints from untrusted hands: no code runs, bombs are refused from their declared sizes, specs are checked."""
import json
import os
import struct
import subprocess
import sys
import zipfile

import pytest
import torch
from torch import nn

from lottery_theory.nets import load_target, save_target, target_from_state_dict
from lottery_theory.nets.checkpoint import FORMAT, MAX_PARAMS, check_spec


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):  # unpickling this opens (creates) the marker file: proof that code ran
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("trust", ["no", 1, "False", None])
def test_trust_must_be_a_bool_and_nothing_runs(tmp_path, trust):
    marker = tmp_path / "ran"
    torch.save(_Payload(str(marker)), tmp_path / "evil.pt")
    with pytest.raises(TypeError, match="trust must be True or False"):
        load_target(tmp_path / "evil.pt", trust=trust)
    with pytest.raises(ValueError, match="not a safe"):
        load_target(tmp_path / "evil.pt")
    assert not marker.exists()


def _forge_declared_size(path, size):
    """Rewrite the central directory's uncompressed size of every entry (a header that lies about the size)."""
    data = bytearray(path.read_bytes())
    i = data.find(b"PK\x01\x02")
    while i >= 0:
        data[i + 24:i + 28] = struct.pack("<I", 0xFFFFFFFF if size >= 2**32 else size)
        i = data.find(b"PK\x01\x02", i + 4)
    path.write_bytes(bytes(data))


_PROBE = r"""
import resource, sys, time
import torch, lottery_theory.nets as n
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
try:
    getattr(n, sys.argv[2])(sys.argv[1], *([] if sys.argv[2] == 'load_target' else [[['Linear', 4, 3, True]]]))
    outcome = 'loaded'
except ValueError as e:
    outcome = 'ValueError: ' + str(e)[:200]
print(outcome)
print(time.perf_counter() - t, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024)
"""


def _probe(path, fn, env=None):
    out = subprocess.run([sys.executable, "-c", _PROBE, str(path), fn], capture_output=True, text=True, timeout=600,
                         env={**os.environ, **(env or {})})
    lines = out.stdout.strip().splitlines()
    assert len(lines) >= 2, out.stderr[-2000:]
    secs, mib = (float(x) for x in lines[-1].split())
    return lines[-2], secs, mib


def _deflated(src, dst):
    """``src`` (a torch.save archive, entries stored) rewritten with every entry deflated."""
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED) as b:
        for info in a.infolist():
            b.writestr(info.filename, a.read(info.filename))


def test_decompression_bombs_are_refused_before_inflating(tmp_path):
    # a valid torch archive of 128 MiB of zeros, deflated to well under 1 MiB: torch would inflate it; we refuse it
    # from the directory (ratio > 16 beyond 64 MiB) with the default limits
    torch.save({"0.weight": torch.zeros(32 << 20)}, tmp_path / "big.pt")
    _deflated(tmp_path / "big.pt", tmp_path / "bomb.pt")
    (tmp_path / "big.pt").unlink()
    bomb = tmp_path / "bomb.pt"
    assert bomb.stat().st_size < 1 << 20
    for fn in ("load_target", "target_from_state_dict"):
        outcome, secs, mib = _probe(bomb, fn)
        assert outcome.startswith("ValueError") and "16x the file" in outcome, outcome
        assert mib < 100, f"{mib:.0f} MiB extra"
        assert secs < 30  # refused from the directory (measured ~0.01 s); generous for a busy CI machine
    # the absolute limit: a header that declares 4 GiB - 1 per entry, refused by an explicit 1 GiB limit
    small = tmp_path / "lie.pt"
    torch.save({"0.weight": torch.zeros(3, 4), "0.bias": torch.zeros(3)}, small)
    _forge_declared_size(small, 2**32 - 1)
    outcome, secs, mib = _probe(small, "target_from_state_dict", {"LOTTERY_THEORY_MAX_CHECKPOINT_BYTES": str(1 << 30)})
    assert "more than the limit" in outcome and mib < 100
    # a legitimate deflated file (ratio within the cap) still loads
    m = nn.Sequential(nn.Linear(4, 3))
    save_target(m, tmp_path / "ok.pt")
    _deflated(tmp_path / "ok.pt", tmp_path / "ok_deflated.pt")
    assert torch.equal(load_target(tmp_path / "ok_deflated.pt")[0].weight, m[0].weight)


def test_declared_layer_sizes_are_checked_before_allocating(tmp_path):
    path = tmp_path / "huge.pt"
    torch.save({"format": FORMAT, "layers": [["Linear", 20000, 20000, True]],
                "state_dict": {"0.weight": torch.zeros(2, 2), "0.bias": torch.zeros(2)}}, path)
    assert path.stat().st_size < 4096
    outcome, secs, mib = _probe(path, "load_target")
    assert outcome.startswith("ValueError") and "shapes differ" in outcome, outcome
    assert mib < 100, f"{mib:.0f} MiB extra (a 20000x20000 float32 layer is 1.5 GiB)"
    with pytest.raises(ValueError, match="more than the limit"):
        check_spec([["Linear", 2**16, 2**16, True], ["Linear", 2**16, 2**16, True]])
    assert MAX_PARAMS == 2**31


@pytest.mark.parametrize("spec,match", [
    ([["Linear", 4]], "needs 3 fields"),
    ([["Linear", 4, -3, True]], "out_features must be a positive integer"),
    ([["Linear", 3.7, 3, True]], "in_features must be a positive integer"),
    ([["Linear", 4, 3, "no"]], "bias must be true or false"),
    ([["Linear", 4, 3, True, "extra"]], "needs 3 fields"),
    ([["Conv2d", 1, 2, [3], [1, 1], [0, 0], True]], "kernel_size must be a pair"),
    ([["Dropout", 0.5]], "unknown layer kind"),
    ([], "non-empty list"),
    ("Linear", "non-empty list"),
])
def test_bad_specs_are_named(spec, match):
    with pytest.raises(ValueError, match=match):
        target_from_state_dict({}, spec)


def test_checkpoint_defects(tmp_path):
    spec = [["Linear", 4, 3, True]]
    with pytest.raises(ValueError, match=r"missing keys \['0.bias'\].*unexpected keys \['x'\]"):
        target_from_state_dict({"0.weight": torch.zeros(3, 4), "x": torch.zeros(1)}, spec)
    with pytest.raises(ValueError, match=r"0.weight: \(4, 3\) \(spec \(3, 4\)\)"):
        target_from_state_dict({"0.weight": torch.zeros(4, 3), "0.bias": torch.zeros(3)}, spec)
    with pytest.raises(ValueError, match="NaN or inf"):
        target_from_state_dict({"0.weight": torch.full((3, 4), float("nan")), "0.bias": torch.zeros(3)}, spec)
    with pytest.raises(ValueError, match="is a directory"):
        save_target(nn.Sequential(nn.Linear(4, 3)), tmp_path)
    no_layers = tmp_path / "nolayers.pt"
    torch.save({"format": FORMAT, "state_dict": {}}, no_layers)
    with pytest.raises(ValueError, match=r"missing: \['layers'\]"):
        load_target(no_layers)
    extra = tmp_path / "extra.pt"
    torch.save({"format": FORMAT, "layers": spec, "state_dict": {}, "note": 1}, extra)
    with pytest.raises(ValueError, match=r"unexpected: \['note'\]"):
        load_target(extra)
    plain = tmp_path / "sd.pt"
    torch.save(nn.Linear(4, 3).state_dict(), plain)
    with pytest.raises(ValueError, match="target_from_state_dict"):
        load_target(plain)  # the message says how to load a plain state_dict
    legacy = tmp_path / "legacy.pt"
    torch.save({"a": torch.zeros(2)}, legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(ValueError, match="legacy format"):
        target_from_state_dict(legacy, spec)
    # a good round trip still works, and the loaded target computes what was saved
    m = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    save_target(m, tmp_path / "ok.pt")
    x = torch.randn(5, 4)
    assert torch.equal(load_target(tmp_path / "ok.pt")(x), m(x))
    assert json.loads(json.dumps(spec)) == spec
