"""The configure wizard: its steps, checks, sso-session questions, config edit, prompts, regions."""
