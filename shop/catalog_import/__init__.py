"""The catalog CSV import as a background job: staff upload a file in the admin, a worker imports it.

- `models`: `CatalogImport` (the job: its file, status, progress and counts) and `CatalogImportLine`
  (what happened to each line of the file: created, updated, unchanged or failed, and why);
- `csvfile`: reading the uploaded file: its header checked at upload, its rows with their line numbers;
- `services`: `catalog_import_create` (the upload) and `catalog_import_run` (the worker's part, chunk
  by chunk, each chunk one transaction that also records its lines and the job's progress);
- `admin`: the upload page, the list of imports and each import's result page.

Rows are read by the same django-import-export resources as the export (shop/resources.py), so a file
exported, edited in a spreadsheet and uploaded again updates the same rows.
"""
