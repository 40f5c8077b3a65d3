"""Local stub servers for tests: an OpenAI-compatible API and the Slack Web API."""
