"""Presentation: the HTML report, charts, notebook views and file exports. Renders what the
analytics computed; computes nothing itself."""
