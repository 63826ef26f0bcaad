"""Where expansions run: the service's connection (`client`), the fork server that keeps a
child ready per request (`forkserver`) and the confinement of that child (`confinement`)."""
