"""A sample site in the reference site's markup, served by the demo and by tests."""
