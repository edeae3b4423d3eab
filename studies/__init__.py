"""Questions asked of many caucus nights: running them, run folders, plots and reports, compare
and sweep, held against the public record. Imports :mod:`sim`; :mod:`sim` never imports this."""
