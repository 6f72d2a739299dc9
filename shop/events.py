"""What shop's services announce (config.hooks).

| hook | sent by | receivers (connected in) |
|---|---|---|
| `password_reset_requested(email)` | `password_reset_request` | the task that looks the address up and sends Django's reset email (shop.apps) |
"""

from config.hooks import Hook

password_reset_requested = Hook("shop.password_reset_requested")
