"""Reusable widgets, one per file, named after what the user sees; they know no tab and no state object."""
