"""The web channel: a chat widget for the company's own site, served by the bot (docs/web.md)."""
