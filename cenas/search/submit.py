"""Submitting a search: validate the spec, store it queued, announce `search.created`.

One path for every client (the gateway, the CLI, tests), so a stored search is always a
valid one and the optimizer always hears about it.
"""

from __future__ import annotations

from sqlalchemy import Engine

from cenas.bus import Publisher
from cenas.contracts import SearchCreated
from cenas.db.searches import Search, create_search
from cenas.spec import SearchSpec


def submit_search(engine: Engine, publisher: Publisher, spec: SearchSpec | dict, *, owner: str | None = None) -> Search:
    """Raises pydantic.ValidationError (naming the field) for a bad spec; nothing is stored then."""
    valid = spec if isinstance(spec, SearchSpec) else SearchSpec.model_validate(spec)
    search = create_search(engine, spec=valid.model_dump(mode="json"), owner=owner)
    publisher.publish(SearchCreated(search_id=search.id))
    return search
