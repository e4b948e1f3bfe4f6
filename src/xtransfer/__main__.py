import sys

from xtransfer.cli import main

sys.exit(main())
