"""The default reports as files: layouts, stylesheets, address patterns, text blocks and
their assets. ``core.default_reports.install_default_reports`` stores them in the database."""
