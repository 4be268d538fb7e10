"""The structure-search and MovieLens completion cases of the ``tensor`` suite."""
