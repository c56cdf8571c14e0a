"""Shared helpers for pyovn's tests: starting pyovn's and Debian's OVSDB servers."""
