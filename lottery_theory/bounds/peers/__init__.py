"""Width theorems of other papers, one module each, registered in ``THEOREMS`` and ``BOUNDS`` at import.

Each states its paper's form (theorem/equation in its docstring and citation) with a golden value in
``tests/test_bounds_peers.py`` worked by hand from that statement or from the paper's reported experiment.
"""
