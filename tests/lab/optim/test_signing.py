"""The per-user signing key, HMAC tags, and the refusal of optimizer state freqlens did not sign: a crafted
checkpoint cannot run code."""

import doctest
import hashlib
import hmac
import io
import os
import pickle
import stat
import sys

import pytest
import torch

from freqlens.errors import StoreError
from freqlens.lab.optim import make_optimizer
from freqlens.runs import signing
from optim_helpers import Recorder, config, tiny_problem


def test_rfc4231_vector_and_tampering():
    # RFC 4231, test case 2
    tag = signing.sign(b"what do ya want for nothing?", key=b"Jefe")
    assert tag.hex() == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert signing.verify(b"what do ya want for nothing?", tag, key=b"Jefe")
    assert not signing.verify(b"what do ya want for nothing!", tag, key=b"Jefe")
    assert not signing.verify(b"what do ya want for nothing?", tag, key=b"Jeff")
    assert not signing.verify(b"what do ya want for nothing?", tag[:-1] + bytes([tag[-1] ^ 1]), key=b"Jefe")
    assert not signing.verify(b"x", "not bytes")


def test_key_is_created_private_under_xdg_config_home(tmp_path, monkeypatch):
    monkeypatch.delenv("FREQLENS_SECRET_FILE")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    key = signing.secret_key()
    path = tmp_path / "cfg" / "freqlens" / "secret"
    assert signing.secret_path() == path and len(key) == signing.KEY_BYTES
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert signing.secret_key() == key  # read back, not recreated
    assert signing.sign(b"data") == hmac.new(key, b"data", hashlib.sha256).digest()


def test_explicit_key_file_and_refusals(secret_file):
    key = signing.secret_key()
    assert secret_file.read_text().strip() == key.hex()
    os.chmod(secret_file, 0o644)
    with pytest.raises(StoreError, match="accessible to other users.*chmod 600"):
        signing.secret_key()
    os.chmod(secret_file, 0o600)
    secret_file.write_text("not hex\n")
    with pytest.raises(StoreError, match="does not hold a freqlens key"):
        signing.secret_key()
    secret_file.unlink()
    secret_file.mkdir()
    with pytest.raises((StoreError, OSError)):
        signing.secret_key()


def test_module_doctest():
    result = doctest.testmod(signing, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


class _Exploit:
    """Unpickling this runs a shell command that creates a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _pso_state():
    problem = tiny_problem()
    opt = make_optimizer(config("pso"), problem, seed=0)
    opt.run(problem, 0, 30, Recorder())
    buf = io.BytesIO()
    torch.save(opt.state_dict(), buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def _tensor(data: bytes) -> torch.Tensor:
    return torch.frombuffer(bytearray(data), dtype=torch.uint8)


def test_a_crafted_pickle_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    evil = pickle.dumps(_Exploit(marker))
    state = _pso_state()
    fresh = lambda: make_optimizer(config("pso"), tiny_problem(), seed=0)  # noqa: E731

    # 1. the payload swapped under the genuine tag
    with pytest.raises(StoreError, match="not signed with this user's freqlens key"):
        fresh().load_state_dict({**state, "pickle": _tensor(evil)})
    # 2. a tag made with someone else's key (their runs folder)
    with pytest.raises(StoreError, match="not signed"):
        fresh().load_state_dict({**state, "pickle": _tensor(evil), "tag": _tensor(signing.sign(evil, key=b"k" * 32))})
    # 3. no tag at all, or a tag of the wrong type
    with pytest.raises(StoreError, match="holds no nevergrad state"):
        fresh().load_state_dict({**state, "tag": None})
    assert not marker.exists()

    # behind the signature, the allow-list: even a payload signed with this user's key (e.g. by a bug) is refused
    with pytest.raises(StoreError, match=r"posix\.system|os\.system|is not part of a nevergrad optimizer"):
        fresh().load_state_dict({**state, "pickle": _tensor(evil), "tag": _tensor(signing.sign(evil))})
    assert not marker.exists()

    # sanity: the exploit does run when unpickled plainly, so the refusals above are what kept it out
    if sys.platform != "win32":
        pickle.loads(evil)
        assert marker.exists()


def test_getattr_is_allowed_only_on_a_random_state():
    from freqlens.lab.optim.nevergrad_optim import load_signed_pickle

    import numpy as np

    class Sneaky:
        def __init__(self, obj, name):
            self.args = (obj, name)

        def __reduce__(self):
            return (getattr, self.args)

    for obj, name in [({"a": 1}, "clear"), (np.random.RandomState(0), "__class__"), (np.zeros(2), "tofile")]:
        with pytest.raises(StoreError, match="getattr"):
            load_signed_pickle(pickle.dumps(Sneaky(obj, name)))
    assert callable(load_signed_pickle(pickle.dumps(Sneaky(np.random.RandomState(0), "randn"))))


def test_the_genuine_state_loads_after_verification():
    state = _pso_state()
    opt = make_optimizer(config("pso"), tiny_problem(), seed=0)
    opt.load_state_dict(state)
    assert opt.step == 30 and type(opt.optimizer).__name__ == "_PSO"
