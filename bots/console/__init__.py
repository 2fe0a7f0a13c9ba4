"""The admin console's bot pages: data, training and versions, settings, install. Views stay thin."""
