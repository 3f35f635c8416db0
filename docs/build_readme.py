"""Regenerate README.md's verdict table from figures/verdicts.json and figures/full/verdicts.json
(``python docs/build_readme.py``; a test fails while the README's table differs from what this writes)."""
from pathlib import Path

from lottery_theory.verdicts import update_readme

if __name__ == "__main__":
    readme = Path(__file__).resolve().parent.parent / "README.md"
    print(f"{'updated' if update_readme(readme) else 'unchanged'}: {readme}")
