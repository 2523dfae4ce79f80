"""``python -m netra_diag``: the same CLI as the ``netra-diag`` console script."""

from ._entry import main

main()
