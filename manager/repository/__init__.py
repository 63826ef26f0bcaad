"""Storage of deployments, manifests and type instances."""
