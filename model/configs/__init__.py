"""Gin configs shipped with the package: tiny, base_8khz, large_batch."""
