"""Consistent, encrypted backups while the application runs, and verified restores
(``kka backup`` / ``kka restore``)."""
