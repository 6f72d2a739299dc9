"""django-filter FilterSets, one module per sub-domain (the same names as api/views/)."""
