"""Authenticated encryption of stored secrets (AES-GCM, as the original's access_key_encryption).

A sealed value is base64(nonce || ciphertext+tag), with a random 12-byte nonce.

cryptography (about 9 MB resident) is imported by seal() and unseal(), the first time a secret
is sealed or opened: a worker whose runs have no key or secret, and the scheduler, never load
it (issue 17).
"""

from __future__ import annotations

import base64
import binascii
import os

from semaphore.errors import SemaphoreError

NONCE_SIZE = 12


class DecryptionError(SemaphoreError):
    status = 500


def seal(plaintext: str, key: bytes) -> str:
    """Encrypt and authenticate a string with the 16/24/32-byte key."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(NONCE_SIZE)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode("utf-8"), None)
    return base64.b64encode(nonce + sealed).decode("ascii")


def unseal(token: str, key: bytes) -> str:
    """Decrypt a value made by seal().

    Raises:
        DecryptionError: the value was not sealed with this key, or was altered.
    """
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        raw = base64.b64decode(token, validate=True)
        plaintext = AESGCM(key).decrypt(raw[:NONCE_SIZE], raw[NONCE_SIZE:], None)
    except (InvalidTag, ValueError, binascii.Error):
        raise DecryptionError(
            "cannot decrypt access key, perhaps encryption key was changed"
        ) from None
    return plaintext.decode("utf-8")
