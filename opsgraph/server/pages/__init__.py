"""Static pages of the dashboard and the web chat."""
