"""Startup objects out of the garbage collector's way: `gc.freeze()` once a process has loaded everything.

Why: a full (generation 2) collection walks every object the process tracks. A Celerity worker or web process
tracks ~100,000 objects once Django, Celery and the app are loaded (a bare Celery worker ~30,000), so each full
collection paused it ~55 ms (bare Celery ~9 ms), and whichever task allocated past the threshold paid the pause: a
chord's body decoding 10,000 results was seen to finish 70 ms late. Frozen objects are skipped by every later
collection; they are the long-lived modules, classes and settings, which a collection never frees anyway. The heap
is collected first where that is safe, so no garbage is frozen with them; in a prefork parent, freezing before the
pool forks also keeps the children's pages shared (a collection writes to every object it visits).

Never collect in a freshly forked child: a collection there can run finalizers of the parent's garbage that wait on
locks another parent thread held at the fork, and nothing would ever release them. A child only freezes.
"""

from __future__ import annotations

import gc


def freeze(*, collect: bool = True) -> int:
    """Collect (unless this is a freshly forked child), then move every tracked object to the permanent generation;
    returns how many are frozen."""
    if collect:
        gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
