"""Presentation: how figures read for people and programs.

The API documents, the one formatter of numbers, money and moments, the
gettext catalogs and the alert messages.
"""
