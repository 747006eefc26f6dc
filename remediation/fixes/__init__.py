"""Fixes: one module per fix, each planning Changes from Facts."""
