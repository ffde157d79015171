"""A module that starts a thread when imported, as some libraries do: a preloaded interpreter that imported it must
not fork (tests/workflow/test_forkserver.py)."""

import threading
import time

threading.Thread(target=time.sleep, args=(3600,), daemon=True, name="threaded_import").start()
