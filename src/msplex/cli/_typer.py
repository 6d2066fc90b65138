"""Shared pieces of the ``msplex`` command groups: conventional help, options, tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

if TYPE_CHECKING:
    from typer._click import Context, Parameter  # typer vendors click; its types have no public name

__all__ = ["Command", "Group", "TenantOpt", "group", "table"]


class _Argument(TyperArgument):
    def display_type_rich(self, ctx: Context) -> str | None:
        return None  # the name column shows the metavar already


class _Option(TyperOption):
    def display_type_rich(self, ctx: Context) -> str | None:
        return None if self.is_flag else self.metavar or "TEXT"


def _conventional(params: list[Parameter]) -> list[Parameter]:
    """typer 0.29 labels every parameter in help with its Python type (``name <str>``, ``--header
    <list[str]>``, ``<bool>`` after each flag) and offers no setting to stop it: an argument's type
    column ignores ``metavar``. Help reads conventionally instead: the metavar, nothing after a flag.
    typer builds its parameter objects itself, so they are given the subclasses here."""
    for param in params:
        if type(param) is TyperArgument:
            param.__class__ = _Argument
        elif type(param) is TyperOption:
            param.__class__ = _Option
    return params


class Command(TyperCommand):
    def get_params(self, ctx: Context) -> list[Parameter]:
        return _conventional(super().get_params(ctx))


class Group(TyperGroup):
    def get_params(self, ctx: Context) -> list[Parameter]:
        return _conventional(super().get_params(ctx))


def group(help_text: str) -> typer.Typer:
    """A command group whose help reads conventionally."""
    return typer.Typer(cls=Group, help=help_text, no_args_is_help=True)


TenantOpt = Annotated[str, typer.Option("--tenant", "-t", help="Tenant slug.", metavar="SLUG")]


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows])
