"""Reading compose files as Compose does: its `!reset` tag and its variable substitution."""

from __future__ import annotations

import re
from pathlib import Path

import yaml


class ComposeLoader(yaml.SafeLoader):
    """YAML with Compose's `!reset` tag (an override empties the merged value): None here."""


ComposeLoader.add_constructor("!reset", lambda loader, node: None)


def load_compose(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=ComposeLoader)


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} substitution."""
    def sub(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        if name in env:
            return env[name]
        if op == ":?":
            raise KeyError(f"{name}: {arg}")
        return arg
    return re.sub(r"\$\{(\w+)(:-|:\?)?([^}]*)\}", sub, str(value))
