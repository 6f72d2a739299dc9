"""What shop's services announce (config.hooks).

| hook | sent by | receivers (connected in) |
|---|---|---|
| `password_reset_requested(email, language)` | `password_reset_request` | the task that looks the address up and sends Django's reset email, in the language of the page it was asked on (shop.apps) |
| `catalog_import_queued(job_id)` | `catalog_import_create` | the task that imports the uploaded file (shop.apps) |
"""

from config.hooks import Hook

password_reset_requested = Hook("shop.password_reset_requested")
catalog_import_queued = Hook("shop.catalog_import_queued")
