"""Rendering of ScopeGuard's figures for people: charts and localized formatting."""
