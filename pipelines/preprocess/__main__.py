"""`python -m pipelines.preprocess`."""

import sys

from pipelines.preprocess.cli import main

sys.exit(main())
