"""Entry points: the web app, the command line and the worker.

Each is wired by :mod:`scopeguard.bootstrap`, the one composition root.
"""
