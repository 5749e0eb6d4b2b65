"""Algorithms: no printing, no terminal; each reports progress through callbacks."""
