"""The ``consent-relay`` command and the composition root that wires the packages together."""
