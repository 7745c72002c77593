"""The configure wizards: their steps, the sso-session questions, the config edit of one run,
regions and output formats, the terminal prompts and menus, and ``roles --write-profiles``.
"""
