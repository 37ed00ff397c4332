"""experimentos: a Git-native experiment knowledge toolkit for coding agents."""

__version__ = "0.1.0"
