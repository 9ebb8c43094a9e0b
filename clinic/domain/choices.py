"""One declaration per enumeration: the value stored and sent, the label people read, the CSS class.

Like netbox's `ChoiceSet`: the models' CHECK constraints, the forms, the templates and the
scripts (clinic/web/choices.py) all read an enumeration from its one declaration.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self


class Choice(StrEnum):
    """A value kept as text, declared as `NAME = value, label, css`."""

    label: str
    css: str

    # The defaults exist only so that a look-up, `Status("booked")`, type-checks; a member
    # declared without its label and class is refused when its class is created.
    def __new__(cls, value: str, label: str = "", css: str = "") -> Self:
        """Make the member from its value, label and CSS class."""
        if not label or not css:
            raise ValueError(f"{cls.__name__} {value!r} needs a label and a CSS class")
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        member.css = css
        return member

    @classmethod
    def values(cls) -> tuple[str, ...]:
        """Return every value in declaration order."""
        return tuple(member.value for member in cls)

    @classmethod
    def label_of(cls, value: str) -> str:
        """Return the label of a value, or the value itself if it is not a member."""
        member = cls._value2member_map_.get(value)
        return member.label if isinstance(member, cls) else value

    @classmethod
    def css_of(cls, value: str) -> str:
        """Return the CSS class of a value, or "" if it is not a member."""
        member = cls._value2member_map_.get(value)
        return member.css if isinstance(member, cls) else ""
