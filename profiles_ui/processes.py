"""Process-wide settings, and helper processes that must not outlive the process they work
for."""

import ctypes
import ctypes.util
import os
import threading
import time

M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's own starting value


def return_large_buffers_to_the_os() -> bool:
    """Keep glibc malloc from holding on to freed multi-megabyte buffers; False elsewhere.

    glibc serves a large allocation with its own mmap, returned to the system when freed, but
    then raises that threshold to the size just freed: from the first freed 10 MB chunk body
    on, bodies, their copies and their answers come from the heaps of the threads that
    send them, and a worker's memory stays at its busiest. Setting the threshold turns that
    adjustment off (measured: a 100,000-row batch's worker peaked at 244 MB instead of 294).
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    if not hasattr(libc, "mallopt") or not hasattr(libc, "gnu_get_libc_version"):
        return False  # not glibc: musl or macOS have no such threshold
    return libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1


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
