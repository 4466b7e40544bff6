"""The offline policy gate: evaluate the pack against a mock run or a state export, no CLI.

- `model`: the resources as the engine would send them (from a `mockrun.StackRun`, or from a
  `pulumi stack export` deployment v3), and the exporter that writes such an export.
- `evaluate`: drives pulumi_policy's own analyzer servicer with engine-shaped requests, so each
  policy runs exactly as under `pulumi preview --policy-pack policies`.
- `report`: text, JSON and SARIF 2.1.0.
"""

from policies.gate.evaluate import Finding, GateResult, evaluate
from policies.gate.model import GateResource, from_stack_run, from_state_export, to_state_export

__all__ = [
    "Finding",
    "GateResource",
    "GateResult",
    "evaluate",
    "from_stack_run",
    "from_state_export",
    "to_state_export",
]
