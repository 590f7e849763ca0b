"""``python -m local_runtime.services up|down|status`` (``make up`` / ``make down``)."""
import sys

from local_runtime.services import main

raise SystemExit(main(sys.argv[1:]))
