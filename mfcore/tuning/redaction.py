"""Storage URLs without their secrets, for any text given as one (a URL that does not parse included).

The rule, applied to the text itself before any parser sees it, so a parse failure cannot leak:

- an optional scheme is any text without ``/:@?#`` and a ``:`` at the start, followed by at
  least one slash (``tuner:PASS`` has none: it is a host and a port), then any number of slashes;
- the **user-info** is everything after that up to the *last* ``@`` (a raw ``@``, ``:``, ``/`` or
  ``?`` inside a password stays inside it); it is shown as ``***``;
- after the user-info, the host and port end at the first ``/`` (three slashes after the scheme:
  no host, a path such as ``sqlite:///:memory:``); the port starts at the first ``:``
  (after the ``]`` of an IPv6 host); a port that is not a number up to
  :data:`MAX_PORT` is shown as ``***``;
- the **query** (from the first ``?`` after the user-info) and the **fragment** (from ``#``) are
  shown as ``?***`` and ``#***``;
- a text with no scheme is no URL: it is shown as ``***`` whole;
- when a ``?`` or ``#`` comes before the last ``@``, either reading may be the right one (a query
  holding an ``@``, or a password holding a ``?``), so everything after the scheme is ``***``.

Everything else (scheme, host, numeric port, path) is shown as given, on one line (a run of white
space is one space). :func:`secrets_of` lists the
pieces hidden this way (raw and percent-decoded, and each query value), and :func:`scrub` removes
them, and any run of at least :data:`MIN_PIECE` of their characters, from other text (a driver's
error message, which may quote a misparsed host made of a password's tail).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote

HIDDEN = "***"
MIN_PIECE = 4
"""Runs of this many characters of a secret are scrubbed from other text (a secret's tail included)."""
_SCHEME = re.compile(r"[^/:@?#]*:(?=/)")
MAX_PORT = 65535
_ONE_LINE = re.compile(r"\s+")


def split_url(text: str) -> dict[str, str]:
    """The parts of ``text`` by the rule above: ``scheme`` (with its colon), ``slashes``, ``userinfo``
    (None-free: ``""`` when there is no ``@``), ``host``, ``port``, ``path`` (with its leading ``/``),
    ``query`` and ``fragment`` (without ``?``/``#``); ``has_at``, ``has_query``, ``has_fragment``
    say whether the separators were there; ``ambiguous`` that a ``?`` or ``#`` comes before the last
    ``@`` (the ``@`` may be in a query or the ``?`` in a password: everything after the scheme is
    secret under one reading or the other)."""
    text = str(text)
    match = _SCHEME.match(text)
    scheme = match.group() if match else ""
    rest = text[len(scheme):]
    slashes = rest[:len(rest) - len(rest.lstrip("/"))]
    rest = rest[len(slashes):]
    at = rest.rfind("@")
    userinfo, rest = (rest[:at], rest[at + 1:]) if at >= 0 else ("", rest)
    rest, has_fragment, fragment = rest.partition("#")
    rest, has_query, query = rest.partition("?")
    hostport, slash, path = ("", "", rest) if len(slashes) >= 3 else rest.partition("/")
    colon = hostport.find(":", hostport.find("]") + 1 if hostport.startswith("[") else 0)
    host, port = (hostport[:colon], hostport[colon + 1:]) if colon >= 0 else (hostport, "")
    return {"scheme": scheme, "slashes": slashes, "userinfo": userinfo, "has_at": "@" if at >= 0 else "",
            "host": host, "has_port": ":" if colon >= 0 else "", "port": port,
            "path": slash + path, "query": query, "has_query": has_query, "fragment": fragment,
            "has_fragment": has_fragment, "ambiguous": "?" in userinfo or "#" in userinfo}


def is_secret_port(port: str) -> bool:
    """Whether the text in a URL's port place is no port (so it may be a misplaced password)."""
    return bool(port) and not (port.isascii() and port.isdigit() and int(port) <= MAX_PORT)


def redact(url: str) -> str:
    """``url`` with its user-info, query, fragment and a port that is no port replaced by ``***``."""
    parts = split_url(url)
    if not parts["scheme"]:  # no URL at all: any of it may be a secret
        return HIDDEN
    if parts["ambiguous"]:  # a '?' or '#' before the last '@': a query holding an '@', or a password
        return _ONE_LINE.sub(" ", parts["scheme"] + parts["slashes"] + HIDDEN)
    port = HIDDEN if is_secret_port(parts["port"]) else parts["port"]
    shown = [parts["scheme"], parts["slashes"], HIDDEN + "@" if parts["has_at"] else "", parts["host"],
             parts["has_port"], port, parts["path"], "?" + HIDDEN if parts["has_query"] else "",
             "#" + HIDDEN if parts["has_fragment"] else ""]
    return _ONE_LINE.sub(" ", "".join(shown))


def secrets_of(url: str) -> list[str]:
    """The pieces of ``url`` that :func:`redact` hides, raw and percent-decoded, longest first: the
    user-info, its user and password, the query and each of its values, the fragment, a
    port that is no port."""
    parts = split_url(url)
    user, _, password = parts["userinfo"].partition(":")
    pieces = [parts["userinfo"], user, password, parts["query"], parts["fragment"]]
    if parts["ambiguous"] or not parts["scheme"]:
        pieces.append(str(url)[len(parts["scheme"] + parts["slashes"]):])
    pieces += [value for _, value in parse_qsl(parts["query"], keep_blank_values=True)]
    pieces += [parts["port"]] if is_secret_port(parts["port"]) else []
    pieces += [unquote(piece) for piece in pieces]
    return sorted({piece for piece in pieces if piece.strip()}, key=len, reverse=True)


def scrub(text: str, url: str | None) -> str:
    """``text`` with every run of at least :data:`MIN_PIECE` consecutive characters of a secret of
    ``url`` (:func:`secrets_of`) replaced by ``***``, and shorter secrets (two characters or more)
    where they occur whole."""
    text = str(text)
    if not url:
        return text
    secrets = secrets_of(url)
    grams = {secret[i:i + MIN_PIECE] for secret in secrets for i in range(len(secret) - MIN_PIECE + 1)}
    hidden = [False] * len(text)
    for start in range(len(text) - MIN_PIECE + 1):
        if text[start:start + MIN_PIECE] in grams:
            hidden[start:start + MIN_PIECE] = [True] * MIN_PIECE
    text = "".join(HIDDEN if flag and (i == 0 or not hidden[i - 1]) else "" if flag else char
                   for i, (char, flag) in enumerate(zip(text, hidden)))
    for secret in secrets:
        if 2 <= len(secret) < MIN_PIECE:
            text = text.replace(secret, HIDDEN)
    return text
