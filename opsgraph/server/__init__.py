"""HTTP server of OpsGraph: REST API, web chat, dashboard, Slack endpoint, metrics."""
