"""Channels to the outside: Slack approvals and the approval-channel factory."""
