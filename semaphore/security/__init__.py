"""Passwords, tokens, encryption of secrets and the role matrix."""
