"""Outside input parsed with bounds: JSON with a depth limit, and integers with a digit limit.

Python's own parsers fail on hostile input with errors nobody catches: `json.loads` raises
RecursionError on a 200,000-deep array and ValueError (not JSONDecodeError) on a 5,000-digit
number, accepts `NaN` and reads `1e999` as infinity; `int()` raises ValueError past 4,300
digits. Every reader of JSON from a file, a pipe or an API goes through `load_json`, and every
integer read from a regex match of outside text through `parse_int`, so such input becomes one
named error the caller turns into a problem naming its file.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_JSON_DEPTH = 100  # GitHub payloads nest about 6 deep; npm v1 lockfiles two per package level
MAX_JSON_INT_DIGITS = 40  # ids and counts; a 400-digit "token count" is not a number we can use
MAX_INT_DIGITS = 18  # fits in a signed 64-bit integer

_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class JsonError(ValueError):
    """Text that is not JSON this tool accepts; `line` and `column` when the syntax is wrong."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        self.line = line
        self.column = column
        where = f" (line {line}, column {column})" if line is not None else ""
        super().__init__(message + where)
        self.reason = message


def _int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_JSON_INT_DIGITS:
        raise JsonError(f"a number has {digits} digits (at most {MAX_JSON_INT_DIGITS})")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonError(f"the number {text[:40]}{'…' if len(text) > 40 else ''} is out of range")
    return value


def _constant(name: str) -> Any:
    raise JsonError(f"{name} is not a JSON number")


# One decoder, built once: json.loads with hooks builds a new one per call (twice the cost).
_DECODER = json.JSONDecoder(parse_int=_int, parse_float=_float, parse_constant=_constant)


def json_depth_exceeds(text: str, limit: int) -> bool:
    """Whether the (valid) JSON `text` nests arrays and objects deeper than `limit`."""
    if text.count("[") + text.count("{") <= limit:  # the common case: too few to nest deeper
        return False
    # Valid JSON: a string is what lies between two unescaped quotes, so drop escapes, split on
    # quotes and keep every other part; then keep only the brackets (bytes.translate is fast).
    plain = text.replace("\\\\", "").replace('\\"', "")
    outside = "".join(plain.split('"')[::2])
    brackets = outside.encode("utf-8", "surrogatepass").translate(None, _NOT_BRACKETS)
    # Each pass removes the innermost pairs: a document `limit` deep is empty after `limit`.
    for _ in range(limit):
        if not brackets:
            return False
        brackets = brackets.replace(b"[]", b"").replace(b"{}", b"")
    return bool(brackets)


def load_json(raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Decode JSON from outside: UTF-8 (a BOM is allowed), at most `max_depth` levels deep,
    finite numbers only, integers of at most MAX_JSON_INT_DIGITS digits. JsonError otherwise."""
    if isinstance(raw, bytes | bytearray | memoryview):
        try:
            text = bytes(raw).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise JsonError(f"not UTF-8 (byte {exc.start})") from None
    else:
        text = raw.removeprefix("\ufeff")
    try:
        data = _DECODER.decode(text)
    except JsonError:
        raise
    except RecursionError:
        raise JsonError(f"nested too deeply (more than {max_depth} levels)") from None
    except json.JSONDecodeError as exc:
        raise JsonError(exc.msg, exc.lineno, exc.colno) from None
    except ValueError as exc:  # a number Python will not convert
        raise JsonError(str(exc)) from None
    if isinstance(data, list | dict) and json_depth_exceeds(text, max_depth):
        raise JsonError(f"nested too deeply (more than {max_depth} levels)")
    return data


def parse_int(text: str, *, max_digits: int = MAX_INT_DIGITS) -> int | None:
    """`text` (ASCII digits, an optional sign) as an int, or None when it is not one or has
    more than `max_digits` digits."""
    text = text.strip()
    digits = text[1:] if text[:1] in "+-" else text
    if not digits or len(digits) > max_digits or not (digits.isascii() and digits.isdigit()):
        return None
    return int(text)
