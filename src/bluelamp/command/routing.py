"""Travel times for recommendations. (Being written; see issue 5.)"""

from __future__ import annotations


def router_for(settings):
    return None
