"""`python -m pipelines.kubeflow`."""

import sys

from pipelines.kubeflow.cli import main

sys.exit(main())
