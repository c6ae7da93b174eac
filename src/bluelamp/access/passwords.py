"""Passwords: argon2id hashes (argon2-cffi), strength rules, generated passwords."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from bluelamp.errors import FieldProblem

# argon2-cffi's defaults are argon2id with RFC 9106's "low memory" parameters.
_HASHER = PasswordHasher()
# Verifying against this when the account does not exist keeps the time alike,
# so response times do not reveal which usernames exist.
_DUMMY_HASH = _HASHER.hash("bluelamp-no-such-user")

MIN_LENGTH = 12
_COMMON = {"password1234", "123456789012", "qwertyuiop12", "letmein12345", "police123456", "changeme1234"}


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; always spends the time of one verification."""
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)


def password_problems(password: str, *, username: str | None = None) -> list[FieldProblem]:
    """What is wrong with a new password (NCSC: length over complexity, no common ones)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(FieldProblem("password", f"use at least {MIN_LENGTH} characters"))
    elif password.lower() in _COMMON or len(set(password)) < 4:
        problems.append(FieldProblem("password", "that password is too easy to guess"))
    if username and username.lower() in password.lower():
        problems.append(FieldProblem("password", "the password must not contain the username"))
    return problems


def generate_password() -> str:
    """A random password that is easy to read out: four groups of four characters."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))
