"""The cache folder: one entry file per input (what an entry is, how it is judged for ``--resume``),
claims, the summary, and migration from the old single-file cache."""
