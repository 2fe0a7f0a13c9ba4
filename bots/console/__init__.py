"""The admin console's bot pages (data, training and versions, settings, install), the dashboard's analytics and
the conversation history. Views stay thin: the reads are in bots/*_selectors.py, the writes in bots/services."""
