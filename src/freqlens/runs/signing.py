"""Sign bytes that freqlens wrote, so that only this user's own files are ever turned back into objects.

Some libraries keep state that only pickle can save (nevergrad's optimizers). Unpickling runs code, so a pickle
is loaded only when it carries an HMAC-SHA256 tag made with a secret key that never leaves this user's
configuration folder: a checkpoint copied from someone else's runs folder, or edited by hand, fails the check and
is refused before a single byte of it is unpickled.

The key is 32 random bytes, stored as hex in ``$FREQLENS_SECRET_FILE`` when set, else in
``$XDG_CONFIG_HOME/freqlens/secret`` (``~/.config/freqlens/secret`` when ``XDG_CONFIG_HOME`` is unset). It is
created on first use with mode 0600 in a folder of mode 0700; an existing key file that another user owns, or that
other users may read or write, is refused (whoever can read it can forge tags).

>>> import os, tempfile
>>> os.environ["FREQLENS_SECRET_FILE"] = os.path.join(tempfile.mkdtemp(), "secret")
>>> tag = sign(b"payload")
>>> len(tag), verify(b"payload", tag), verify(b"payload!", tag)
(32, True, False)
>>> del os.environ["FREQLENS_SECRET_FILE"]
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from freqlens.errors import StoreError

KEY_BYTES = 32
ENV_FILE = "FREQLENS_SECRET_FILE"


def secret_path() -> Path:
    """Where the key lives: ``$FREQLENS_SECRET_FILE``, else ``$XDG_CONFIG_HOME/freqlens/secret``."""
    explicit = os.environ.get(ENV_FILE)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "freqlens" / "secret"


def secret_key() -> bytes:
    """This user's signing key: read from :func:`secret_path`, created there (0600) on first use.

    Raises
    ------
    StoreError
        The key file is not a regular file, is owned by another user, is readable or writable by others, or does
        not hold a key freqlens wrote.
    """
    path = secret_path()
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return _read_key(path)
    with os.fdopen(fd, "w") as fh:
        fh.write(key.hex() + "\n")
    return key


def _read_key(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd) as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise StoreError(f"signing key {path} is not a regular file; remove it (freqlens creates a new one)")
        if hasattr(os, "getuid"):
            if st.st_uid != os.getuid():
                raise StoreError(f"signing key {path} belongs to another user; it is not used")
            if st.st_mode & 0o077:
                raise StoreError(f"signing key {path} is accessible to other users (mode "
                                 f"{stat.S_IMODE(st.st_mode):o}); run `chmod 600 {path}` or remove it")
        text = fh.read(4 * KEY_BYTES).strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < KEY_BYTES:
        raise StoreError(f"signing key {path} does not hold a freqlens key ({KEY_BYTES} bytes in hex); remove it")
    return key


def sign(data: bytes, key: bytes | None = None) -> bytes:
    """HMAC-SHA256 tag (32 bytes) of ``data`` under ``key`` (default: :func:`secret_key`).

    Notes
    -----
    ``tag = HMAC-SHA256(key, data)`` (RFC 2104); without the key a valid tag cannot be made for other data.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    return hmac.new(secret_key() if key is None else key, bytes(data), hashlib.sha256).digest()


def verify(data: bytes, tag: bytes, key: bytes | None = None) -> bool:
    """True when ``tag`` is the tag of ``data`` under ``key`` (default: :func:`secret_key`); compared in constant
    time."""
    if not isinstance(tag, (bytes, bytearray, memoryview)):
        return False
    return hmac.compare_digest(sign(data, key), bytes(tag))
