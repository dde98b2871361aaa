"""asyncrender: batch LaTeX-to-PNG rendering with a crash-safe per-file cache."""
