"""``python -m sim`` is the ``caresim`` command."""
from .cli import main

raise SystemExit(main())
