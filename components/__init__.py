"""s1da.components: concrete land models, operators, perturbers, filters and data sources."""
