"""`${VAR}` substitution in the config file, as wg-portal does it (github.com/a8m/envsubst).

| text              | becomes                                                   |
|-------------------|-----------------------------------------------------------|
| `$VAR`, `${VAR}`  | the variable's value, "" when unset                       |
| `${VAR-x}`        | x when VAR is unset (`${VAR=x}` the same)                 |
| `${VAR:-x}`       | x when VAR is unset or empty (`${VAR:=x}` the same)       |
| `${VAR+x}`        | x when VAR is set, else "" (`${VAR:+x}` the same)         |
| `$$`              | a literal `$` (so `$$VAR` is the text `$VAR`)             |

`x` may itself be `$OTHER`. A `${` without its `}` on the same line is an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_NAME = r"(?!_(?![A-Za-z0-9_]))[A-Za-z0-9_]+"  # a lone "_" is not a variable
_TOKEN = re.compile(
    r"\$\$"  # an escaped dollar
    rf"|\$\{{(?P<braced>{_NAME})(?P<op>:-|:=|:\+|-|=|\+)?(?P<arg>[^}}\r\n]*)\}}"
    r"|(?P<open>\$\{(?=[A-Za-z0-9]|_[A-Za-z0-9_]|[\r\n]|\Z))"  # opened, never closed on its line
    rf"|\$(?P<bare>{_NAME})"
)


class SubstitutionError(ValueError):
    """A `${` expression without its closing brace; `line` is 1-based."""

    def __init__(self, line: int) -> None:
        super().__init__(f"closing brace expected in ${{...}} at line {line}")
        self.line = line


def substitute(text: str, env: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        if match.group("open"):
            raise SubstitutionError(text.count("\n", 0, match.start()) + 1)
        if match.group("bare"):
            return env.get(match.group("bare"), "")
        name, op, arg = match.group("braced"), match.group("op"), match.group("arg")
        value = env.get(name)
        if op is None:
            return value or ""  # anything after the name without an operator is dropped
        other = env.get(arg[1:], "") if re.fullmatch(rf"\${_NAME}", arg) else arg
        if op in ("-", "="):
            return other if value is None else value
        if op in (":-", ":="):
            return value or other
        return other if value is not None else ""  # + and :+ alike, as a8m/envsubst does

    return _TOKEN.sub(replace, text)
