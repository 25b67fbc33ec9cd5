"""CE-NAS shared kernel: data, carbon accounting, search tasks and Pareto utilities.

Imports no service package; only `cenas.cli` (the composition root) wires services together.
"""

__version__ = "0.1.0"
