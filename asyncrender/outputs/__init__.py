"""What is made from a finished cache: datasets (export), the failures report, the gallery picture,
and the integrity check (verify)."""
