"""The base classes of the admin API's request and response bodies.

Inputs refuse unknown fields (``extra="forbid"``): a misspelt option is an error,
not silently ignored. Outputs are built from the store's records field by field,
so a secret can only reach a response by someone adding a field for it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Input", "Output"]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(extra="forbid")
