"""The reference results-reporting service (`caucus serve`) and its storage."""
