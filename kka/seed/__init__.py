"""Synthetic, deterministic data at scale for benchmarks and load tests (``kka seed``).

Never for production: the command refuses to run with KKA_ENV=production.
"""
