"""An in-memory Kubernetes API server for tests and demos: it stores objects and runs nothing.

Start it with `python -m kubesim --port N --kubeconfig PATH`; the real kubectl
then works against the kubeconfig it writes. See docs/simulator.md.
"""
