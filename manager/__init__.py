"""Manager service: the public REST API, the deployment workflow and the repository."""
