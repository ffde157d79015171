"""Errors a user can act on: each names the file and the field at fault."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input, config or environment (not a bug in this tool).

    The step runner prints these as one clear message, without a traceback.
    """

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None):
        self.message = message
        self.file = file
        self.field = field
        where = []
        if file:
            where.append(f"file {file}")
        if field:
            where.append(f"field '{field}'")
        prefix = f"[{', '.join(where)}] " if where else ""
        super().__init__(prefix + message)
