"""CE-NAS shared kernel: data, carbon accounting, search tasks and Pareto utilities.

Imports no service package: each service imports the kernel, and only `cenas_cli` (the
command line, the composition root) wires services together.
"""

__version__ = "0.1.0"
