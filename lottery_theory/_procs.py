"""Worker processes that never outlive their parent (no orphans when a sweep or a construction is killed)."""
from __future__ import annotations

import os


def die_with_parent(parent: int) -> None:
    """Process-pool initializer: exit when the process ``parent`` dies. Linux: the kernel sends SIGKILL
    (PR_SET_PDEATHSIG); everywhere: a watchdog thread exits once the parent pid changes, and a worker whose
    parent died while it was starting exits at once."""
    import ctypes
    import signal
    import threading
    import time

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before the death signal was armed
        os._exit(1)

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True).start()
