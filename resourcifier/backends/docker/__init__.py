"""The docker backend: Kubernetes-shaped objects run on a plain Docker engine."""
