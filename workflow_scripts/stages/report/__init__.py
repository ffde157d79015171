"""The report's tables and figures, and its summary page."""
