"""s1da.containers: dependency-injector containers that assemble experiments from YAML."""
