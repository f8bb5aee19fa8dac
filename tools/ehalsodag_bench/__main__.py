"""``python -m ehalsodag_bench '{"profile": "full", ...}'``: what ``ehalsodag bench`` runs (see :func:`command`)."""

import json
import sys

from ehalsodag_bench import main

if __name__ == "__main__":
    raise SystemExit(main(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}))
