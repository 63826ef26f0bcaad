"""An in-memory Kubernetes API server for tests and demos: simulated controllers make workload
status real (pods become Ready after a short delay) while no container ever runs.

Start it with `python -m kubesim --port N --kubeconfig PATH`; the real kubectl
then works against the kubeconfig it writes. See docs/simulator.md.
"""
