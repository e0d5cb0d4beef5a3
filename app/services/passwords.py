"""The password policy, in one place: what a new password must be, and one-time passwords.

- At least MIN_LENGTH (12) characters. NIST SP 800-63B asks for at least 8 and recommends allowing long
  passphrases; 12 is what current guidance for accounts without a second factor settles on (OWASP ASVS 4 asks
  for 12), and it is what an offline attack on a stolen scrypt hash cannot walk through. A passphrase of four
  words or a sentence in pinyin passes it easily, so no rule of character classes is added (NIST advises against
  those: they make passwords harder to remember, not harder to guess).
- Not containing the user name (nor the person's name when it is written in Latin letters).
- Not a common password, nor one built from a common password with a few digits, a keyboard run or a date:
  zxcvbn (PyPI `zxcvbn`, MIT, Dropbox's estimator) matches against its shipped frequency lists of leaked
  passwords, words, names, keyboard patterns and dates; a guess score below 3 of 4 ("safely unguessable",
  about 10^8 guesses) is refused with what it found.

Hashing stays in services/auth.py (hash_password).
"""
from __future__ import annotations

import secrets

from flask_babel import gettext as _
from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 128  # a passphrase fits; a megabyte of "password" does not reach the hash function
MIN_SCORE = 3
_ZXCVBN_MAX = 72  # zxcvbn's own bound on the length it analyses (its cost grows with the length)
# One-time passwords: no characters that are confused when read aloud or copied (0/O, 1/l/I).
_OTP_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_OTP_GROUPS, _OTP_GROUP = 4, 4


def problem(password: str, username: str | None = None, names: tuple[str | None, ...] = ()) -> str | None:
    """What is wrong with `password` as a new password for this user, in the user's language; None when fine."""
    if len(password) < MIN_LENGTH:
        return _("Use at least %(n)d characters (you entered %(got)d); a few words in a row are easy to remember.",
                 n=MIN_LENGTH, got=len(password))
    if len(password) > MAX_LENGTH:
        return _("Use at most %(n)d characters.", n=MAX_LENGTH)
    if password != password.strip():
        return _("Remove the spaces at the start or end of the password.")
    lowered = password.lower()
    name = (username or "").strip().lower()
    if len(name) >= 3 and name in lowered:
        return _("The password must not contain the user name (“%(name)s”).", name=username)
    if name and lowered == name:
        return _("The password must not be the user name.")
    personal = [n.strip() for n in names if n and len(n.strip()) >= 3]
    result = zxcvbn(password[:_ZXCVBN_MAX], user_inputs=[name, *personal], max_length=_ZXCVBN_MAX)
    if result["score"] >= MIN_SCORE:
        return None
    common = [m["token"] for m in result["sequence"] if m.get("dictionary_name") == "passwords"]
    if common:
        return _("“%(part)s” is in the list of common passwords: choose a password that is not built from "
                 "one (a few unrelated words are hard to guess and easy to remember).", part=common[0])
    if any(m.get("dictionary_name") == "user_inputs" for m in result["sequence"]):
        return _("The password is built from your own name: choose words that are not about you.")
    return _("The password is too easy to guess (a word, a keyboard row, a repeated or sequential run, or a "
             "date): add a few unrelated words.")


def one_time_password() -> str:
    """A random password to hand over once (16 characters in groups, about 93 bits); the person replaces it."""
    groups = ("".join(secrets.choice(_OTP_ALPHABET) for _ in range(_OTP_GROUP)) for _ in range(_OTP_GROUPS))
    return "-".join(groups)
