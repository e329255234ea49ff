"""Plain words for the page: every message the server sends to a browser goes through :func:`plain`, so no file
path, web address, error number, command-line flag, code name or traceback ever reaches a person reading it.

The engine's messages are written for every face (the CLI names flags and files, Python names fields); the page
turns option fields into its labels first (:func:`stylekit.errors.render`), and this is the last guard on
whatever else a message carries, including the text of an exception the server did not expect.
:data:`DENY` is what must never come out; the tests scan every message the server can send against it.
"""
from __future__ import annotations

import re

_FLAG = re.compile(r"(?<![\w-])--(?P<name>[a-z][a-z0-9-]*)|(?<![\w-])-[a-zA-Z](?![\w-])")
DENY: dict[str, re.Pattern[str]] = {  # what a page message must never contain, by kind
    "web address": re.compile(r"\b[a-z][a-z0-9+.-]*://|\bwww\.[a-z0-9-]+\.", re.I),
    "file path": re.compile(r"(?:^|[\s'\"(=:\[])(?:~|\.{1,2})?/[\w.@+-]+(?:/|\b)|\b[A-Z]:\\|\\\\[\w.-]+\\"),
    "error number": re.compile(r"(?i:\b(?:errno|winerror)\b)|\bE(?:NO[A-Z]+|ACCES|PERM|EXIST|IO|AGAIN|CONNREFUSED|"
                               r"CONNRESET|TIMEDOUT|ISDIR|ROFS|MFILE)\b"),
    "flag": _FLAG,
    "code name": re.compile(r"\b[A-Z][A-Za-z0-9]*(?:Error|Exception|Warning|Interrupt|Exit|Missing|Full)\b"
                            r"|\b[a-z_]\w*(?:\.[a-z_]\w*){2,}\b|\b[a-z_]\w*\(\)|<[a-z]+ '|\bobject at 0x|`"),
    "traceback": re.compile(r"Traceback \(most recent call last\)|\bFile \"|\n"),
}

_URL = re.compile(r"<?\b(?:[a-z][a-z0-9+.-]*://|www\.)[^\s<>'\"]*>?", re.I)
_PATH = re.compile(r"(?P<lead>^|[\s'\"(=:\[])(?:(?:~|\.{1,2})?/[^\s'\"),;\]<>]*[^\s'\"),;\]<>:.]"
                   r"|[A-Z]:\\[^\s'\"),;<>]*[^\s'\"),;<>:.]|\\\\[^\s'\"),;<>]*[^\s'\"),;<>:.])")
_ERRNO = re.compile(r"\s*[\[(]?\b(?:Errno|WinError)\b\s*-?\d*[\])]?:?\s*|\s*\(?\berrno\s*=?\s*-?\d*\)?", re.I)
_ECODE = DENY["error number"]
_CLASS = re.compile(r"\b[A-Z][A-Za-z0-9]*(?:Error|Exception|Warning|Interrupt|Exit|Missing|Full)\b:?\s*"
                    r"|<(?:class|function|module) '[^']*'>|\s*object at 0x[0-9a-f]+")
_DOTTED = re.compile(r"\b[a-z_]\w*(?:\.[a-z_]\w*){2,}\b|\b(?P<call>[a-z_]\w*)\(\)")
_SPACES = re.compile(r"[ \t]{2,}")
_EMPTY = re.compile(r"\(\s*[;,:]?\s*\)|''|\"\"|<\s*>")
_WRAPPED = re.compile(r"<[a-z]\w* ([^<>]*)>")  # <urlopen error ...>: a library's wrapper around what happened
_FIELD = re.compile(r"`([^`]*)`")
FALLBACK = "something went wrong on the server: try again, or choose other settings"


def plain(message: object) -> str:
    """``message`` fit for the page: its first line, with web addresses, file paths, error numbers, flags
    (as the words they stand for), code names and backticks taken out; :data:`FALLBACK` when nothing is left."""
    lines = [s.strip() for s in str(message or "").splitlines() if s.strip()]
    traceback = any(s.startswith("Traceback") for s in lines)  # its last line says what happened
    line = (lines[-1] if traceback else lines[0]) if lines else ""
    line = _FIELD.sub(lambda m: m.group(1).replace("_", " "), line)
    line = _WRAPPED.sub(r"\1", line)
    line = _URL.sub("a web address", line)
    line = _PATH.sub(lambda m: f"{m.group('lead')}a file on the server", line)
    line = _ERRNO.sub(" ", line)
    line = _ECODE.sub("", line)
    line = _FLAG.sub(lambda m: (m.group("name") or "").replace("-", " ") or "a setting", line)
    line = _CLASS.sub("", line)
    line = _DOTTED.sub(lambda m: m.group("call") or "a part of the server", line)
    line = _EMPTY.sub("", line.replace("`", ""))
    line = re.sub(r"\(\s*[;,:]\s*", "(", _balanced(line))
    line = _SPACES.sub(" ", line).strip(" :;,-")
    if len(re.sub(r"[^A-Za-z]", "", line)) < 3:
        return FALLBACK
    return line


def _balanced(line: str) -> str:
    """``line`` without the parentheses left unmatched by what was taken out."""
    out, opened = [], []
    for char in line:
        if char == "(":
            opened.append(len(out))
        elif char == ")":
            if not opened:
                continue
            opened.pop()
        out.append(char)
    for index in reversed(opened):
        del out[index]
    return "".join(out)


def denied(message: str) -> list[str]:
    """The kinds of :data:`DENY` that ``message`` contains (empty: fit for the page)."""
    return [kind for kind, pattern in DENY.items() if pattern.search(message)]
