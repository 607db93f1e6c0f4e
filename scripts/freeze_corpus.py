"""Take a new snapshot of the book's prose for chapter 13 (``nnbook/data/book_corpus.txt``).

Run from the repository's root after the other chapters' prose changed *and* chapter 13 is to be
re-measured on it::

    .venv/bin/python scripts/freeze_corpus.py

Chapter 13's numbers (its baselines, tuned learning rates, losses and samples) change with the
corpus, so re-run the chapter and check its asserts after taking a snapshot; until then the
chapter keeps training on the old snapshot and keeps its numbers.
"""
from pathlib import Path

from nnbook.teach.transformer_lab import FROZEN_CORPUS, book_corpus

EXCLUDE = ("errata.md", "13-transformer.ipynb")

if __name__ == "__main__":
    text = book_corpus(Path(__file__).resolve().parents[1] / "book", exclude=EXCLUDE)
    FROZEN_CORPUS.write_text(text, encoding="utf-8")
    print(f"{FROZEN_CORPUS}: {len(text):,} characters")
