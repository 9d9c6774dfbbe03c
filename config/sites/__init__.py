"""The bundled site profiles (one TOML file per site), shipped as parsers.bundled_sites."""
