"""The API's JSON parser: a string no encoder can write is a 400 naming where it is, before any view sees it.

JSON may spell a lone UTF-16 surrogate as an escape (``"\\ud800"``); Python's json turns it into a ``str`` that
cannot be encoded as UTF-8, so it could neither be echoed in an error, rendered, nor stored. Every such string,
key or value, at any depth, is named with its dotted path (``answers.note``, ``answers.safety_screen.0``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.utils.datastructures import MultiValueDict
from rest_framework import parsers
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.request import Request
from rest_framework.settings import api_settings

# The code DRF's string fields give a lone surrogate: the API gives the same for any string, key or parameter.
UNENCODABLE = "surrogate_characters_not_allowed"
VALUE_MESSAGE = "Must be valid Unicode text: lone surrogate characters are not allowed."
KEY_MESSAGE = "This name is not valid Unicode text: lone surrogate characters are not allowed."

_SURROGATE = re.compile("[\ud800-\udfff]")


def is_unencodable(text: str) -> bool:
    """True when ``text`` holds a lone surrogate (the only ``str`` that UTF-8 cannot encode)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def printable_name(name: str) -> str:
    """A key as it may appear in a field path: each surrogate becomes U+FFFD, so nothing unencodable is echoed."""
    return _SURROGATE.sub("\ufffd", name)


class UnencodableInput(ValidationError):
    """A 400 for the unencodable strings of a request body, with the body as it is without them.

    DRF empties ``request.data`` when a parser raises; ``clean_data`` (the body minus every unencodable key and
    value) is put back by the exception handler, so that a refused submission's red-flag items are still kept.
    """

    def __init__(self, problems: list[tuple[str, str]], clean_data: Any) -> None:
        detail: dict[str, list[ErrorDetail]] = {}
        for path, message in problems:
            key = path or api_settings.NON_FIELD_ERRORS_KEY
            detail.setdefault(key, []).append(ErrorDetail(message, code=UNENCODABLE))
        super().__init__(detail)
        self.clean_data = clean_data

    def restore_data(self, request: Request) -> None:
        """Make ``request.data`` the body without its unencodable strings (DRF left an empty QueryDict)."""
        request._full_data = self.clean_data  # type: ignore[attr-defined]
        request._data = self.clean_data  # type: ignore[attr-defined]
        request._files = MultiValueDict()  # type: ignore[attr-defined]


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class _BadKey:
    """Stands in the walk for a key that cannot be encoded, so that it is reported in document order."""


def without_unencodable(data: Any) -> tuple[Any, list[tuple[str, str]]]:
    """``data`` without its unencodable strings, and (path, message) for each of them, in document order.

    A bad value is left out of its object or list; a bad key is left out with its value. Iterative, so that a
    document json accepted (nested up to the recursion limit) cannot overflow the stack here.
    """
    problems: list[tuple[str, str]] = []
    root: dict[str, Any] = {}
    # (value, its path, the container its copy goes in, the key there; None: append to a list)
    stack: list[tuple[Any, str, Any, Any]] = [(data, "", root, "data")]
    while stack:
        value, path, parent, slot = stack.pop()
        copy: Any
        children: list[tuple[Any, str, Any, Any]] = []
        if isinstance(value, _BadKey):
            problems.append((path, KEY_MESSAGE))
            continue
        if isinstance(value, str):
            if is_unencodable(value):
                problems.append((path, VALUE_MESSAGE))
                continue
            copy = value
        elif isinstance(value, Mapping):
            copy = {}
            for key, item in value.items():
                name = str(key)
                if is_unencodable(name):
                    children.append((_BadKey(), _join(path, printable_name(name)), None, None))
                else:
                    children.append((item, _join(path, name), copy, key))
        elif isinstance(value, list):
            copy = []
            children = [(item, _join(path, str(index)), copy, None) for index, item in enumerate(value)]
        else:
            copy = value
        if slot is None:
            parent.append(copy)
        else:
            parent[slot] = copy
        stack.extend(reversed(children))
    return root.get("data"), problems


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing unencodable strings with an :class:`UnencodableInput` (a 400)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        clean, problems = without_unencodable(data)
        if problems:
            raise UnencodableInput(problems, clean)
        return data
