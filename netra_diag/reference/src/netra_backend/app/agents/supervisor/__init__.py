"""Supervisor: agent registry, per-user execution engines and their factory.

Deliberately empty: importing the package must not import the deprecated notifier module
(only an explicit import of it, by a caller that then gets its warning, may load it).
"""
