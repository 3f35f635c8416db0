"""The verification checks, one module per statement of the paper; shipped in the wheel so that
``lottery-theory verify`` runs outside a checkout. Each module also runs as a script:
``python proofs_checks/<name>.py [--full]``."""
