"""Template filters for plans and usage."""

from django import template

register = template.Library()


@register.filter
def quantity(value) -> str:
    """A limit or a count with thousands separators; no limit (None) reads as unlimited."""
    return "unlimited" if value is None else f"{value:,}"
