"""The kubectl backend: a Kubernetes cluster driven through the kubectl binary."""
