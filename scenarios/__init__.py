"""Scenario presets: the TOML files in this folder, shipped with the package as data so that
``caucus simulate iowa-2020`` works from any directory. ``caucus scenarios`` lists them."""
