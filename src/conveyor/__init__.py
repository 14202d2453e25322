"""conveyor: a GitOps release manager for Kubernetes.

The package is layered so that data flows one way (see PRODUCT.md):

- ``core``: pure logic, no I/O (image references, policies, edits, plans);
- ``adapters``: the only I/O (git, registry, kube, store, notify), each with its own errors;
- ``daemon``: the loops that wire adapters and core together;
- ``api`` and ``cli``: the ways in.

``testing`` is the real-services test environment; product code never imports it.
"""

__version__ = "0.1.0"
