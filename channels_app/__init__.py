"""The edges: webhooks, the widget socket, the CRM API, senders and the inbox (channels issue)."""
