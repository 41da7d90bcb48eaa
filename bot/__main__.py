"""`python -m bot` runs the studybot command line."""

import sys

from bot.cli import main

sys.exit(main())
