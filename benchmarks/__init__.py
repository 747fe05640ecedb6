"""The personalize-tracker benchmark suite: run it with ``make bench`` (see README.md here)."""
