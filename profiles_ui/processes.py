"""Helper processes that must not outlive the process they work for."""

import os
import threading
import time


def exit_with(parent: int) -> None:
    """Ends this process once process `parent` is gone.

    A process killed with SIGKILL (or by the out-of-memory killer) runs no clean-up, so the
    processes it started would otherwise go on forever: check processes waiting for work, or
    server processes still answering on its port.
    """

    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(parent, 0)
            except (ProcessLookupError, PermissionError):  # gone, or its number reused
                os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
