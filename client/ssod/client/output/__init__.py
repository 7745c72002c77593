"""Pure renderers: text and JSON for the commands, shell syntax, and what ``ssod docker`` prints.
The daemon's fast path renders with these too, so both paths print the same bytes.
"""
