"""Analysis: what a report or notebook view shows, computed before anything is rendered."""
