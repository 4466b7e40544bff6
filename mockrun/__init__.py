"""Run Pulumi programs and components offline under Pulumi's mock runtime.

The stack's tests, the policy gate (`docpipe check`), `docpipe preview` and local mode all drive
the unchanged `__main__.py` through this package, so they all see the same resource graph.
"""

from mockrun.capture import CapturingMonitor, Registration
from mockrun.mocks import ACCOUNT_ID, REGION, RealisticMocks
from mockrun.program import PROJECT_DIR, StackRun, load_stack_config, run_program

__all__ = [
    "ACCOUNT_ID",
    "PROJECT_DIR",
    "REGION",
    "CapturingMonitor",
    "RealisticMocks",
    "Registration",
    "StackRun",
    "load_stack_config",
    "run_program",
]
