"""The operator console: pages under /console served by the API process, with its auth."""
