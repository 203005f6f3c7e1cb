"""Documents: the template sandbox, report rendering and the default reports, the archive,
a run's files, and the CSV files the product writes."""
