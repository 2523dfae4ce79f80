"""The embedded reference backend that netra-diag diagnoses by default.

A small, real and correct implementation of the agent event pipeline described in the
incident analysis, shipped as source: netra-diag copies this tree to a temporary folder,
may apply named faults to the copy, and puts it first on a child interpreter's
``sys.path``. It is never installed or imported from site-packages under this name.
"""
