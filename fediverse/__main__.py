import sys

from fediverse.cli import main

sys.exit(main())
