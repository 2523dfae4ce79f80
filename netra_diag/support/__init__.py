"""Helpers shared by checks: source scanning, call building, recording connections, tracing.

Nothing here knows about a particular target or about faults; everything takes the
profile's data as arguments.
"""
