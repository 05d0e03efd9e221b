import sys

from gridpilot.cli import main

sys.exit(main())
