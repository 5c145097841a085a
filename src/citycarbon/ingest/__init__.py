"""Reading input files (streaming), checking every row against its declared kind, quarantining
what fails, and loading the rest into the lake under one batch (:mod:`.loader`); forms such as
the 205-1 workbook (:mod:`.excel205`)."""
