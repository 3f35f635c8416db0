"""Write docs/verdicts.md from the rows in proofs_checks/ (``python docs/build_verdicts.py``)."""
from pathlib import Path

from lottery_theory.verdicts import document

if __name__ == "__main__":
    out = Path(__file__).with_name("verdicts.md")
    out.write_text(document() + "\n")
    print(f"wrote {out}")
