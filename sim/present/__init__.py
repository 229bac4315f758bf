"""Presentation: printed tables, figures, the HTML report and the output folders of the command line."""
